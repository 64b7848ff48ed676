import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { buildClientRequest, generateKey, validateServerResponse } from './handshake/client-handshake.js';
import { HandshakeError } from './handshake/handshake-error.js';
import { ResponseHeadParser, type ResponseHead } from './handshake/head-parser.js';
import type { TransportOptions } from './transport/socket-transport.js';

export interface ClientOptions
  extends Pick<TlsConnectionOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'servername' | 'ciphers' | 'minVersion' | 'maxVersion'> {
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Value of the Origin header. */
  origin?: string;
  /** Milliseconds for the TCP connect plus the opening handshake. Default: no limit (as in `ws`). */
  handshakeTimeout?: number;
  /** Sec-WebSocket-Version to send. Default 13 (the only one RFC 6455 defines). */
  protocolVersion?: number;
  maxPayload?: number;
  skipUTF8Validation?: boolean;
  autoPong?: boolean;
  closeTimeout?: number;
}

/** What the client connector needs from the WebSocket it opens (implemented by websocket.ts). */
export interface ClientSocketOwner {
  _attach(
    socket: Socket,
    role: 'client',
    head: Buffer,
    negotiated: { url: string; protocol: string; extensions: string },
    options: Partial<TransportOptions>,
  ): void;
  /** The opening handshake failed; `response` is set when the server answered with a non-101 status. */
  _handshakeFailed(error: Error, response?: ResponseHead): void;
  _opened(): void;
}

export interface PendingHandshake {
  abort(): void;
}

interface Target {
  secure: boolean;
  host: string;
  port: number;
  path: string;
  socketPath: string | undefined;
}

const PROTOCOL_ERROR = 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';

/** Parse and check a WebSocket URL; throws SyntaxError like `ws` for an unusable one. */
export function parseTarget(address: string | URL): Target {
  let url: URL;
  try {
    url = address instanceof URL ? address : new URL(address);
  } catch {
    throw new SyntaxError(`Invalid URL: ${String(address)}`);
  }
  if (url.hash !== '') throw new SyntaxError('The URL contains a fragment identifier');
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  if (url.protocol === 'ws+unix:') {
    // ws+unix:/path/to/socket:/request/path
    const [socketPath, requestPath] = url.pathname.split(':');
    if (socketPath === undefined || socketPath === '') throw new SyntaxError('The URL\'s pathname is empty');
    return { secure: false, host: 'localhost', port: 80, path: (requestPath || '/') + url.search, socketPath };
  }
  if (!secure && url.protocol !== 'ws:' && url.protocol !== 'http:') throw new SyntaxError(PROTOCOL_ERROR);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  return { secure, host, port, path: (url.pathname || '/') + url.search, socketPath: undefined };
}

/**
 * Open a client connection: TCP (or TLS), the opening handshake of RFC 6455 §4.1 with our own
 * request builder and response parser, then hand the socket to the owner.
 */
export function connectClient(
  owner: ClientSocketOwner,
  url: string,
  target: Target,
  protocols: readonly string[],
  options: ClientOptions,
): PendingHandshake {
  const key = generateKey();
  const request = buildClientRequest({
    host: target.host,
    port: target.port,
    secure: target.secure,
    path: target.path,
    key,
    protocols,
    origin: options.origin,
    headers: options.headers,
    version: options.protocolVersion,
  });

  let socket: Socket;
  if (target.socketPath !== undefined) {
    socket = netConnect({ path: target.socketPath });
  } else if (target.secure) {
    socket = tlsConnect({
      ...pickTls(options),
      host: target.host,
      port: target.port,
      servername: options.servername ?? (isIp(target.host) ? undefined : target.host),
    });
  } else {
    socket = netConnect({ host: target.host, port: target.port });
  }
  socket.setNoDelay(true);

  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const parser = new ResponseHeadParser();
  const finish = (): void => {
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
  };
  const fail = (error: Error, response?: ResponseHead): void => {
    if (done) return;
    finish();
    socket.destroy();
    owner._handshakeFailed(error, response);
  };
  const onData = (chunk: Buffer): void => {
    const result = parser.push(chunk);
    if (result.kind === 'incomplete') return;
    if (result.kind === 'error') {
      fail(new Error(`Invalid handshake response: ${result.error.message}`));
      return;
    }
    const head = result.head;
    if (head.status !== 101) {
      fail(new Error(`Unexpected server response: ${head.status}`), head);
      return;
    }
    const accepted = validateServerResponse(head, key, protocols, []);
    if (accepted instanceof HandshakeError) {
      fail(new Error(accepted.message));
      return;
    }
    finish();
    socket.pause();
    owner._attach(socket, 'client', result.rest, { url, protocol: accepted.protocol ?? '', extensions: '' }, {
      maxPayload: options.maxPayload,
      skipUtf8Validation: options.skipUTF8Validation,
      autoPong: options.autoPong,
      closeTimeout: options.closeTimeout,
    });
    owner._opened();
  };
  const onError = (error: Error): void => fail(error);
  const onClose = (): void => fail(new Error('Socket closed before the handshake completed'));

  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  socket.write(request);
  if (options.handshakeTimeout !== undefined && options.handshakeTimeout > 0) {
    timer = setTimeout(() => fail(new Error('Opening handshake has timed out')), options.handshakeTimeout);
  }
  return { abort: () => fail(new Error('WebSocket was closed before the connection was established')) };
}

function pickTls(options: ClientOptions): TlsConnectionOptions {
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, ciphers, minVersion, maxVersion } = options;
  const tls: TlsConnectionOptions = { ca, cert, key, pfx, passphrase, rejectUnauthorized, ciphers, minVersion, maxVersion };
  for (const name of Object.keys(tls) as (keyof TlsConnectionOptions)[]) {
    if (tls[name] === undefined) delete tls[name];
  }
  return tls;
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
