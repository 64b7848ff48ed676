// `rfc6455 connect <url>`: an interactive client (like wscat -c), also usable from scripts.
import { readFileSync } from 'node:fs';
import type { ClientOptions } from '../api/client.js';
import { WebSocket } from '../api/websocket.js';
import { integerOption, parseOptions, UsageError } from './args.js';
import { COMMANDS_HELP, parseCommand } from './commands.js';
import { Terminal } from './terminal.js';

/** Exit status when Ctrl-C stops a connection that is not open yet (128 + SIGINT, as shells do). */
const INTERRUPTED = 130;

export function connect(argv: string[]): void {
  const { values, positionals } = parseOptions(
    argv,
    {
      protocol: { type: 'string', short: 's', multiple: true, default: [] },
      header: { type: 'string', short: 'H', multiple: true, default: [] },
      origin: { type: 'string', short: 'o' },
      auth: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      passphrase: { type: 'string' },
      'no-check': { type: 'boolean', default: false },
      'follow-redirects': { type: 'boolean', short: 'L', default: false },
      'max-redirects': { type: 'string' },
      proxy: { type: 'string' },
      execute: { type: 'string', short: 'x', multiple: true, default: [] },
      wait: { type: 'string', short: 'w' },
      'show-ping-pong': { type: 'boolean', short: 'P', default: false },
      slash: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) return void process.stdout.write(CONNECT_USAGE);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'a URL is needed (rfc6455 connect ws://host:port/path)' : `unexpected argument ${positionals[1]}`);

  const headers: Record<string, string> = Object.create(null);
  for (const header of values.header) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header takes "Name: value", not ${JSON.stringify(header)}`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  const options: ClientOptions = { headers };
  if (values['no-check']) options.rejectUnauthorized = false;
  if (values.origin !== undefined) options.origin = values.origin;
  if (values.auth !== undefined) {
    if (!values.auth.includes(':')) throw new UsageError('--auth takes user:password');
    options.auth = values.auth;
  }
  for (const name of ['ca', 'cert', 'key'] as const) {
    const file = values[name];
    if (file === undefined) continue;
    try {
      options[name] = readFileSync(file);
    } catch (error) {
      throw new UsageError(`--${name}: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  if (values.passphrase !== undefined) options.passphrase = values.passphrase;
  if (values['follow-redirects']) options.followRedirects = true;
  if (values['max-redirects'] !== undefined) {
    options.maxRedirects = integerOption('--max-redirects', values['max-redirects'], 0, 1000);
    options.followRedirects = true;
  }
  if (values.proxy !== undefined) options.proxy = values.proxy;
  const wait = values.wait === undefined ? undefined : waitSeconds(values.wait);
  const scripted = values.execute.length > 0;

  const terminal = new Terminal('connect');
  let ws: WebSocket;
  try {
    ws = new WebSocket(positionals[0]!, values.protocol, options);
  } catch (error) {
    terminal.close();
    throw new UsageError((error as Error).message);
  }
  // Slash commands on a terminal; in a pipe each line is a message, as before, unless --slash.
  const slash = terminal.interactive || values.slash;
  const input = terminal.input;
  input.pause();

  /** The code of the close we started (/close, Ctrl-C, end of input, --wait). */
  let requested: number | undefined;
  const closeWith = (code?: number, reason?: string): void => {
    if (ws.readyState !== WebSocket.OPEN) return;
    terminal.status(`closing${code === undefined ? '' : ` with ${code}`}...`);
    requested = code ?? 1000;
    ws.close(requested, reason);
  };
  let interrupted = false;
  const interrupt = (): void => {
    // Ctrl-C: a normal close (1000) when open; a second Ctrl-C, or one before the connection opened, leaves now.
    if (interrupted || ws.readyState === WebSocket.CONNECTING) {
      terminal.close();
      process.exit(ws.readyState === WebSocket.CONNECTING ? INTERRUPTED : 1);
    }
    interrupted = true;
    if (ws.readyState === WebSocket.OPEN) closeWith(1000);
  };
  input.on('SIGINT', interrupt); // a terminal's Ctrl-C, read by readline
  process.on('SIGINT', interrupt); // a signal from elsewhere (kill -INT, or Ctrl-C when piped)

  input.on('line', (line: string) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    run(line);
    terminal.prompt();
  });
  input.on('close', () => {
    // End of input (Ctrl-D, or the end of a pipe): finish the conversation politely.
    if (!scripted && wait === undefined) closeWith(1000);
  });

  const sent = (error?: Error | null): void => {
    if (error != null && ws.readyState === WebSocket.OPEN) terminal.error(error.message);
  };
  function run(line: string): void {
    const command = slash ? parseCommand(line) : ({ kind: 'send', text: line } as const);
    switch (command.kind) {
      case 'send':
        ws.send(command.text, sent);
        return;
      case 'binary':
        ws.send(command.data, { binary: true }, sent);
        if (terminal.interactive) terminal.status(`sent ${command.data.length} byte(s) as a binary message`);
        return;
      case 'ping':
        ws.ping(command.data, undefined, sent);
        return;
      case 'pong':
        ws.pong(command.data, undefined, sent);
        return;
      case 'close':
        closeWith(command.code ?? 1000, command.reason);
        return;
      case 'help':
        for (const help of COMMANDS_HELP.trimEnd().split('\n')) terminal.status(help);
        return;
      case 'invalid':
        terminal.error(command.message);
    }
  }

  ws.on('open', () => {
    const protocol = ws.protocol === '' ? '' : ` (subprotocol ${ws.protocol})`;
    terminal.status(`connected to ${ws.url}${protocol}${terminal.interactive && !scripted ? '; /help lists the commands, Ctrl-C closes' : ''}`);
    if (scripted) {
      for (const message of values.execute) {
        if (terminal.interactive) terminal.incoming(message, '> ');
        run(message);
      }
      setTimeout(() => closeWith(1000), (wait ?? 2) * 1000).unref();
      return;
    }
    if (wait !== undefined) setTimeout(() => closeWith(1000), wait * 1000).unref();
    input.resume();
    terminal.prompt();
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    terminal.incoming(isBinary ? `<binary ${data.length} bytes> ${data.toString('hex')}` : data.toString());
  });
  if (values['show-ping-pong']) {
    const show = (kind: string) => (data: Buffer) => {
      const text = `${kind}${data.length > 0 ? ` ${data.toString()}` : ''}`;
      if (terminal.interactive) terminal.incoming(terminal.paint('yellow', text));
      else terminal.status(text);
    };
    ws.on('ping', show('ping'));
    ws.on('pong', show('pong'));
  }
  ws.on('error', (error: Error) => terminal.error(error.message));
  ws.on('close', (code: number, reason: Buffer) => {
    terminal.status(`closed: ${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`);
    terminal.close();
    const status = code === 1000 || code === 1005 || code === requested ? 0 : 1;
    // stdin may still be open: leave explicitly, once stdout is flushed.
    process.stdout.write('', () => process.exit(status));
  });
}

function waitSeconds(value: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds >= 0 && seconds <= 2_147_483)) throw new UsageError(`--wait takes a number of seconds, not ${JSON.stringify(value)}`);
  return seconds;
}

export const CONNECT_USAGE = `Usage: rfc6455 connect <url> [options]
  Connect to a ws:, wss: or ws+unix: URL. On a terminal: a prompt (> what you send, < what arrives)
  and slash commands (/help). Piped: each line of stdin is sent as a text message and each message
  received is printed on stdout (binary ones as <binary N bytes> hex); status goes to stderr.
  End of stdin or Ctrl-C closes the connection with 1000.
    -s, --protocol NAME        offer this subprotocol (repeatable)
    -H, --header "Name: value" add a request header (repeatable)
    -o, --origin ORIGIN        the Origin header
        --auth USER:PASS       Basic authentication
        --ca FILE              trust this CA certificate (PEM) for wss:
        --cert FILE, --key FILE, --passphrase TEXT
                               present a client certificate
        --no-check             do not verify the server's TLS certificate (self-signed servers)
    -L, --follow-redirects     follow 3xx answers to the handshake
        --max-redirects N      follow at most N redirects (implies -L; default 10)
        --proxy URL            connect through this HTTP(S) proxy (CONNECT); else HTTPS_PROXY/HTTP_PROXY
    -x, --execute MESSAGE      send MESSAGE once connected (repeatable), don't read stdin, then close
                               after --wait seconds (default 2)
    -w, --wait SECONDS         close with 1000 after this long (after the --execute messages)
    -P, --show-ping-pong       print the pings and pongs received
        --slash                slash commands in a pipe too (on a terminal they are always on)
`;
