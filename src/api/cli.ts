import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { ClientOptions } from './client.js';
import { WebSocketServer } from './server.js';
import { WebSocket } from './websocket.js';

const USAGE = `Usage:
  rfc6455 serve [--echo] [--port 8080] [--host HOST] [--path /PATH] [--deflate | --no-deflate]
      Run a WebSocket server; with --echo every message is sent back as it came.
      permessage-deflate is on with --echo (--no-deflate turns it off), else with --deflate.

  rfc6455 connect <url> [--protocol NAME]... [--header "Name: value"]... [--no-check]
      Connect to a ws:, wss: or ws+unix: URL. Each line read from stdin is sent as a text
      message; each message received is printed on stdout (binary ones as hex). Status goes to
      stderr. Ends when the connection closes: exit status 0 after a normal close (1000 or
      1005), 1 otherwise. End of stdin closes the connection with 1000.
        --protocol   offer this subprotocol (repeatable)
        --header     add a request header (repeatable)
        --no-check   do not verify the server's TLS certificate (self-signed servers)

  rfc6455 --help
`;

/** The command line: `rfc6455 serve | connect | --help` (bin/rfc6455.cjs calls this). */
export function main(argv: string[]): void {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        serve(rest);
        return;
      case 'connect':
        connect(rest);
        return;
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE);
        return;
      default:
        usageError(command === undefined ? 'missing command' : `unknown command: ${command}`);
    }
  } catch (error) {
    // parseArgs rejects unknown options and missing values with a TypeError.
    usageError((error as Error).message);
  }
}

function usageError(message: string): void {
  process.stderr.write(`rfc6455: ${message}\n${USAGE}`);
  process.exitCode = 2;
}

/** `rfc6455 serve --echo`: an echo server on the raw net listener (used by conformance runs and benchmarks). */
function serve(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      echo: { type: 'boolean', default: false },
      port: { type: 'string', default: '8080' },
      host: { type: 'string' },
      path: { type: 'string' },
      deflate: { type: 'boolean', default: false },
      'no-deflate': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  // permessage-deflate: on for the echo server (browsers and conformance runs offer it), else opt-in.
  const perMessageDeflate = !values['no-deflate'] && (values.echo || values.deflate);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`Invalid port: ${values.port}\n`);
    process.exitCode = 2;
    return;
  }
  const server = new WebSocketServer({ port, host: values.host, path: values.path, perMessageDeflate }, () => {
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
  // Graceful: every client gets a 1001 close frame and up to 5 s to answer; a second signal exits now.
  const stop = (signal: NodeJS.Signals): void => {
    process.stderr.write(`rfc6455 serve: ${signal}, closing ${server.clients.size} connection(s)\n`);
    process.once(signal, () => process.exit(1));
    server.shutdown({ code: 1001, reason: 'server shutting down' }).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** `rfc6455 connect <url>`: an interactive client, like wscat. */
function connect(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      protocol: { type: 'string', multiple: true, default: [] },
      header: { type: 'string', multiple: true, default: [] },
      'no-check': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (positionals.length !== 1) {
    usageError(positionals.length === 0 ? 'connect needs a URL' : `unexpected argument: ${positionals[1]}`);
    return;
  }
  const headers: Record<string, string> = Object.create(null);
  for (const header of values.header) {
    const colon = header.indexOf(':');
    if (colon <= 0) {
      usageError(`invalid --header (expected "Name: value"): ${header}`);
      return;
    }
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  const options: ClientOptions = { headers };
  if (values['no-check']) options.rejectUnauthorized = false;

  let ws: WebSocket;
  try {
    ws = new WebSocket(positionals[0]!, values.protocol, options);
  } catch (error) {
    process.stderr.write(`rfc6455 connect: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }

  const input = createInterface({ input: process.stdin, terminal: false });
  input.pause();
  input.on('line', (line: string) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(line);
  });
  input.on('close', () => {
    // End of input: finish the conversation politely.
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  });

  ws.on('open', () => {
    const protocol = ws.protocol === '' ? '' : ` (subprotocol ${ws.protocol})`;
    process.stderr.write(`connected to ${ws.url}${protocol}\n`);
    input.resume();
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    process.stdout.write(isBinary ? `<binary ${data.length} bytes> ${data.toString('hex')}\n` : `${data.toString()}\n`);
  });
  ws.on('error', (error: Error) => {
    process.stderr.write(`error: ${error.message}\n`);
  });
  ws.on('close', (code: number, reason: Buffer) => {
    const text = reason.length > 0 ? ` ${reason.toString()}` : '';
    process.stderr.write(`closed: ${code}${text}\n`);
    input.close();
    const status = code === 1000 || code === 1005 ? 0 : 1;
    // stdin may still be open: leave explicitly, once stdout is flushed.
    process.stdout.write('', () => process.exit(status));
  });
}
