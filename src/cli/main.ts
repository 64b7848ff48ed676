// The command line: `rfc6455 serve | connect | --help | --version` (bin/rfc6455.cjs calls main).
import { UsageError } from './args.js';
import { connect, CONNECT_USAGE } from './connect.js';
import { serve, SERVE_USAGE } from './serve.js';

export const USAGE = `Usage:
  rfc6455 connect <url> [options]       a WebSocket client (rfc6455 connect --help)
  rfc6455 serve [--echo | --rooms] ...  a WebSocket server (rfc6455 serve --help)
  rfc6455 --version | --help

${CONNECT_USAGE}
${SERVE_USAGE}
Exit status: 0 done (connect: the connection closed with 1000 or 1005, or with the code we sent),
1 failure (connect: refused, handshake failed, closed with another code; serve: cannot listen),
2 bad command line, 130 Ctrl-C before the connection opened.
`;

/** Runs `rfc6455 <argv>`; `version` is the package's (the bin reads it from package.json). */
export function main(argv: string[], version = 'unknown'): void {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return serve(rest);
      case 'connect':
        return connect(rest);
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE);
        return;
      case '--version':
      case '-v':
      case 'version':
        process.stdout.write(`${version}\n`);
        return;
      case undefined:
        throw new UsageError('a command is needed: connect or serve');
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)} (connect, serve, --help, --version)`);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const where = command === 'serve' || command === 'connect' ? command : '';
    process.stderr.write(`rfc6455${where === '' ? '' : ` ${where}`}: ${error.message}\n(rfc6455 ${where === '' ? '' : `${where} `}--help shows the usage)\n`);
    process.exitCode = 2;
  }
}
