// `rfc6455 serve`: an echo, rooms or interactive server on one core or several, optionally serving
// a folder over HTTP on the same port.
import { createServer as createHttpServer } from 'node:http';
import type { Broker } from '../pubsub/broker.js';
import { reusePortSupported } from '../api/reuse-port.js';
import { runWorkers } from '../api/run-workers.js';
import { WebSocketServer } from '../api/server.js';
import type { WebSocket } from '../api/websocket.js';
import { integerOption, parseOptions, UsageError } from './args.js';
import { staticFiles, staticRoot } from './static-files.js';
import { Terminal } from './terminal.js';

interface ServeSettings {
  port: number;
  host: string | undefined;
  path: string | undefined;
  perMessageDeflate: boolean;
  mode: 'echo' | 'rooms' | 'interactive' | 'none';
  /** The folder served over HTTP (resolved), if any. */
  root: string | undefined;
}

export function serve(argv: string[]): void {
  const { values } = parseOptions(
    argv,
    {
      echo: { type: 'boolean', default: false },
      rooms: { type: 'boolean', default: false },
      workers: { type: 'string' },
      port: { type: 'string', short: 'p', default: '8080' },
      host: { type: 'string' },
      path: { type: 'string' },
      static: { type: 'string' },
      deflate: { type: 'boolean', default: false },
      'no-deflate': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    false,
  );
  if (values.help) return void process.stdout.write(SERVE_USAGE);
  if (values.echo && values.rooms) throw new UsageError('--echo and --rooms exclude each other');
  const port = integerOption('--port', values.port, 0, 65535);
  let root: string | undefined;
  if (values.static !== undefined) {
    try {
      root = staticRoot(values.static);
    } catch (error) {
      throw new UsageError(`--static: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? `no such folder: ${values.static}` : (error as Error).message}`);
    }
  }
  const workers = values.workers === undefined ? undefined : integerOption('--workers', values.workers, 1, 1024);
  const settings: ServeSettings = {
    port,
    host: values.host,
    path: values.path,
    // permessage-deflate: on for the echo server (browsers and conformance runs offer it), else opt-in.
    perMessageDeflate: !values['no-deflate'] && (values.echo || values.deflate),
    // Without --echo or --rooms: an interactive server (typed lines go to every client), on one core.
    mode: values.echo ? 'echo' : values.rooms ? 'rooms' : workers === undefined ? 'interactive' : 'none',
    root,
  };
  if (workers === undefined) {
    startServer(settings, undefined, false, false);
    return;
  }
  // SO_REUSEPORT where Node has it; port 0 needs the primary's shared socket (else one port per worker).
  // An http.Server (--static) takes the primary's shared socket too.
  const reusePort = reusePortSupported() && port !== 0 && root === undefined;
  const pool = runWorkers({
    workers,
    setup: ({ broker }) => startServer(settings, broker, reusePort, true),
  });
  if (pool === null) return;
  process.stdout.write(`rfc6455 serve: ${workers} worker(s), ${reusePort ? 'SO_REUSEPORT' : 'connections handed out by the primary'}\n`);
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

/** One server (in this process, or in one worker when `inWorker`). */
function startServer(settings: ServeSettings, broker: Broker | undefined, reusePort: boolean, inWorker: boolean): void {
  const { port, host, path, perMessageDeflate, mode, root } = settings;
  const terminal = mode === 'interactive' ? new Terminal('serve') : undefined;
  const http = root === undefined ? undefined : createHttpServer(staticFiles(root));
  const listening = (): void => {
    const address = (http ?? server).address();
    const where = typeof address === 'string' ? address : `${host ?? '0.0.0.0'}:${address?.port}`;
    const kind = mode === 'none' || mode === 'interactive' ? '' : `${mode} `;
    const worker = inWorker ? ` (worker ${process.pid})` : '';
    process.stdout.write(`rfc6455 ${kind}server listening on ws://${where}${path ?? '/'}${worker}\n`);
    if (root !== undefined) process.stdout.write(`rfc6455 serve: files of ${root} on http://${where}/\n`);
    if (terminal !== undefined) {
      terminal.status(terminal.interactive ? 'type a line to send it to every client; Ctrl-C stops' : 'each line of stdin is sent to every client');
      terminal.prompt();
    }
  };
  const server =
    http === undefined
      ? new WebSocketServer({ port, host, path, perMessageDeflate, broker, reusePort }, listening)
      : new WebSocketServer({ server: http, path, perMessageDeflate, broker });
  const failed = (error: Error): void => {
    process.stderr.write(`rfc6455 serve: ${error.message}\n`);
    process.exitCode = 1;
    if (http !== undefined || terminal !== undefined) process.exit(1);
  };
  server.on('error', failed);
  if (http !== undefined) {
    http.on('error', failed);
    http.listen({ port, host }, listening);
  }
  if (inWorker) server.on('headers', (headers: string[]) => headers.push(`X-Rfc6455-Worker: ${process.pid}`));
  if (mode === 'echo') {
    server.on('connection', (ws: WebSocket) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
  } else if (mode === 'rooms') {
    server.on('connection', (ws: WebSocket, req: { url?: string }) => {
      const room = new URL(req.url ?? '/', 'ws://localhost').pathname;
      ws.subscribe(room);
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.publish(room, data, { binary: isBinary }));
    });
  } else if (terminal !== undefined) {
    interactive(server, terminal);
  }
  // Graceful: every client gets a 1001 close frame and up to 5 s to answer; a second signal exits now.
  const stop = (signal: NodeJS.Signals): void => {
    terminal?.close();
    process.stderr.write(`rfc6455 serve: ${signal}, closing ${server.clients.size} connection(s)\n`);
    process.once(signal, () => process.exit(1));
    server.shutdown({ code: 1001, reason: 'server shutting down' }).then(() => {
      if (http === undefined) return process.exit(0);
      http.closeAllConnections();
      http.close(() => process.exit(0));
    });
  };
  if (inWorker) process.on('SIGINT', () => {});
  else {
    process.once('SIGINT', stop);
    terminal?.input.once('SIGINT', () => stop('SIGINT'));
  }
  process.once('SIGTERM', stop);
}

/** Like `wscat -l`: prints connections and messages, sends each typed line to every client. */
function interactive(server: WebSocketServer, terminal: Terminal): void {
  let next = 1;
  server.on('connection', (ws: WebSocket, req: { url?: string; socket: { remoteAddress?: string; remotePort?: number } }) => {
    const id = `#${next++}`;
    terminal.status(`${id} connected from ${req.socket.remoteAddress}:${req.socket.remotePort} ${req.url ?? '/'} (${server.clients.size} client(s))`);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      terminal.incoming(`${id} ${isBinary ? `<binary ${data.length} bytes> ${data.toString('hex')}` : data.toString()}`);
    });
    ws.on('error', (error: Error) => terminal.status(`${id} error: ${error.message}`));
    ws.on('close', (code: number, reason: Buffer) => {
      terminal.status(`${id} closed: ${code}${reason.length > 0 ? ` ${reason.toString()}` : ''} (${server.clients.size} client(s))`);
    });
  });
  terminal.input.on('line', (line: string) => {
    if (server.clients.size === 0) terminal.status('no client connected: nothing sent');
    for (const client of server.clients) client.send(line);
    terminal.prompt();
  });
}

export const SERVE_USAGE = `Usage: rfc6455 serve [--echo | --rooms] [options]
  Run a WebSocket server. Without --echo or --rooms it is interactive: it prints each connection and
  message (#N names the client) and sends each line typed (or read from stdin) to every client.
    --echo             send every message back as it came (permessage-deflate on; --no-deflate turns it off)
    --rooms            a client joins the room (topic) named by its URL path; what it sends goes to the
                       others in that room
    -p, --port N       port (default 8080; 0: any free port)
    --host HOST        address to listen on (default: all)
    --path /PATH       accept WebSocket connections on this path only
    --static DIR       also serve the files of DIR over HTTP on the same port (GET/HEAD; nothing outside
                       DIR, no dotfiles; a folder gives its index.html)
    --deflate          permessage-deflate for --rooms or the interactive server
    --workers N        run N worker processes on the one port (with --echo or --rooms), topics shared;
                       a worker that dies is restarted; each 101 names its worker in X-Rfc6455-Worker
  SIGINT/SIGTERM (Ctrl-C) closes every client with 1001, then exits 0.
`;
