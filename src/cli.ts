import { parseArgs } from 'node:util';
import { WebSocketServer } from './server.js';
import type { WebSocket } from './websocket.js';

const USAGE = `Usage:
  rfc6455 serve [--echo] [--port 8080] [--host 127.0.0.1] [--path /]
`;

/** `rfc6455 serve --echo`: an echo server on the raw net listener (used by conformance runs and benchmarks). */
export function main(argv: string[]): void {
  const [command, ...rest] = argv;
  if (command === 'serve') {
    serve(rest);
    return;
  }
  process.stderr.write(USAGE);
  process.exitCode = command === undefined || command === '--help' || command === 'help' ? 0 : 2;
}

function serve(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      echo: { type: 'boolean', default: false },
      port: { type: 'string', default: '8080' },
      host: { type: 'string' },
      path: { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`Invalid port: ${values.port}\n`);
    process.exitCode = 2;
    return;
  }
  const server = new WebSocketServer({ port, host: values.host, path: values.path }, () => {
    const address = server.address();
    const where = typeof address === 'string' ? address : `${values.host ?? '0.0.0.0'}:${address?.port}`;
    process.stdout.write(`rfc6455 ${values.echo ? 'echo ' : ''}server listening on ws://${where}${values.path ?? '/'}\n`);
  });
  server.on('error', (error: Error) => {
    process.stderr.write(`rfc6455 serve: ${error.message}\n`);
    process.exitCode = 1;
  });
  if (values.echo) {
    server.on('connection', (ws: WebSocket) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
  }
  const stop = (): void => server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
