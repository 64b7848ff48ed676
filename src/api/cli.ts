import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Broker } from '../pubsub/broker.js';
import type { ClientOptions } from './client.js';
import { reusePortSupported } from './reuse-port.js';
import { runWorkers } from './run-workers.js';
import { WebSocketServer } from './server.js';
import { WebSocket } from './websocket.js';

const USAGE = `Usage:
  rfc6455 serve [--echo | --rooms] [--workers N] [--port 8080] [--host HOST] [--path /PATH]
                [--deflate | --no-deflate]
      Run a WebSocket server; with --echo every message is sent back as it came; with --rooms a
      client joins the room (topic) named by its URL path and every message it sends goes to the
      others in that room. permessage-deflate is on with --echo (--no-deflate turns it off), else
      with --deflate.
        --workers N  run N worker processes on the one port, topics shared across them; a worker
                     that dies is restarted. Each 101 response names its worker in X-Rfc6455-Worker.

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

interface ServeSettings {
  port: number;
  host: string | undefined;
  path: string | undefined;
  perMessageDeflate: boolean;
  mode: 'echo' | 'rooms' | 'none';
}

/** `rfc6455 serve`: an echo or rooms server on the raw net listener, on one core or several. */
function serve(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      echo: { type: 'boolean', default: false },
      rooms: { type: 'boolean', default: false },
      workers: { type: 'string' },
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
  if (values.echo && values.rooms) {
    usageError('--echo and --rooms exclude each other');
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`Invalid port: ${values.port}\n`);
    process.exitCode = 2;
    return;
  }
  const settings: ServeSettings = {
    port,
    host: values.host,
    path: values.path,
    // permessage-deflate: on for the echo server (browsers and conformance runs offer it), else opt-in.
    perMessageDeflate: !values['no-deflate'] && (values.echo || values.deflate),
    mode: values.echo ? 'echo' : values.rooms ? 'rooms' : 'none',
  };
  if (values.workers === undefined) {
    startServer(settings, undefined, false, false);
    return;
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    usageError(`--workers takes a positive integer, not ${values.workers}`);
    return;
  }
  // SO_REUSEPORT where Node has it; port 0 needs the primary's shared socket (else one port per worker).
  const reusePort = reusePortSupported() && port !== 0;
  const pool = runWorkers({
    workers,
    setup: ({ broker }) => startServer(settings, broker, reusePort, true),
  });
  if (pool === null) return;
  process.stdout.write(`rfc6455 serve: ${workers} worker(s), ${reusePort ? 'SO_REUSEPORT' : "connections handed out by the primary"}\n`);
  pool.on('exit', (worker, code, signal, restarted) => {
    const how = signal === null ? `code ${code}` : signal;
    process.stderr.write(`rfc6455 serve: worker ${worker.process.pid} exited (${how})${restarted ? ', restarting it' : ''}\n`);
  });
  // The workers leave SIGINT to the primary, which stops them all with SIGTERM (each closes its clients with 1001).
  const stop = (signal: NodeJS.Signals): void => {
    process.stderr.write(`rfc6455 serve: ${signal}, stopping ${workers} worker(s)\n`);
    process.once(signal, () => process.exit(1));
    pool.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The echo server's 'message' listener: one function for every socket, not a closure (and its context) each. */
function echoMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  this.send(data, { binary: isBinary });
}

/** One server (in this process, or in one worker when `inWorker`). */
function startServer(settings: ServeSettings, broker: Broker | undefined, reusePort: boolean, inWorker: boolean): void {
  const { port, host, path, perMessageDeflate, mode } = settings;
  const server = new WebSocketServer({ port, host, path, perMessageDeflate, broker, reusePort }, () => {
    const address = server.address();
    const where = typeof address === 'string' ? address : `${host ?? '0.0.0.0'}:${address?.port}`;
    const kind = mode === 'none' ? '' : `${mode} `;
    const worker = inWorker ? ` (worker ${process.pid})` : '';
    process.stdout.write(`rfc6455 ${kind}server listening on ws://${where}${path ?? '/'}${worker}\n`);
  });
  server.on('error', (error: Error) => {
    process.stderr.write(`rfc6455 serve: ${error.message}\n`);
    process.exitCode = 1;
  });
  if (inWorker) server.on('headers', (headers: string[]) => headers.push(`X-Rfc6455-Worker: ${process.pid}`));
  if (mode === 'echo') {
    server.on('connection', (ws: WebSocket) => {
      ws.on('message', echoMessage);
    });
  } else if (mode === 'rooms') {
    server.on('connection', (ws: WebSocket, req: { url?: string }) => {
      const room = new URL(req.url ?? '/', 'ws://localhost').pathname;
      ws.subscribe(room);
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.publish(room, data, { binary: isBinary }));
    });
  }
  // Graceful: every client gets a 1001 close frame and up to 5 s to answer; a second signal exits now.
  const stop = (signal: NodeJS.Signals): void => {
    process.stderr.write(`rfc6455 serve: ${signal}, closing ${server.clients.size} connection(s)\n`);
    process.once(signal, () => process.exit(1));
    server.shutdown({ code: 1001, reason: 'server shutting down' }).then(() => process.exit(0));
  };
  if (inWorker) process.on('SIGINT', () => {});
  else process.once('SIGINT', stop);
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
