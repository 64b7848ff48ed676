import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { HandshakeError } from './handshake/handshake-error.js';
import { RequestHeadParser, type HeadLimits, type RequestHead } from './handshake/head-parser.js';
import { buildAcceptResponse, buildErrorResponse, validateUpgradeRequest } from './handshake/server-handshake.js';
import { WebSocket, type WebSocketCoreOptions } from './websocket.js';

/** The request of an upgrade, shaped like the parts of `http.IncomingMessage` that apps read. */
export interface UpgradeRequest {
  method: string;
  url: string;
  httpVersion: string;
  httpVersionMajor: number;
  httpVersionMinor: number;
  /** Lowercase names; repeated headers joined with ", " as node:http does. */
  headers: Record<string, string>;
  rawHeaders: string[];
  socket: Socket;
}

export interface WebSocketServerOptions extends WebSocketCoreOptions {
  /** Listen on this port with the built-in raw TCP listener (0: any free port). */
  port?: number;
  /** Interface to bind. Default: all interfaces (as net.Server). */
  host?: string;
  backlog?: number;
  /** Accept upgrades only for this path (compared with the request target without its query). */
  path?: string;
  /** Choose the subprotocol among those offered; false or undefined accepts none. Default: the first offered. */
  handleProtocols?: (protocols: Set<string>, request: UpgradeRequest) => string | false | undefined;
  /** Keep the open sockets in `clients`. Default true. */
  clientTracking?: boolean;
  /** Milliseconds a TCP connection gets to deliver a complete upgrade request. Default 10000. */
  handshakeTimeout?: number;
  /** Limits of the HTTP head parser (431 when exceeded). */
  headLimits?: Partial<HeadLimits>;
}

/**
 * A WebSocket server on its own raw `node:net` listener: it parses the HTTP upgrade itself,
 * answers plain HTTP requests with 426, and runs every accepted connection on the core.
 */
export class WebSocketServer extends EventEmitter {
  readonly clients = new Set<WebSocket>();
  readonly options: WebSocketServerOptions;
  private readonly server: Server;

  constructor(options: WebSocketServerOptions, callback?: () => void) {
    super();
    if (options.port === undefined) {
      throw new TypeError('The "port" option must be specified');
    }
    this.options = options;
    this.server = createServer({ noDelay: true }, (socket) => this.acceptSocket(socket));
    this.server.on('listening', () => this.emit('listening'));
    this.server.on('error', (error) => this.emit('error', error));
    if (callback !== undefined) this.once('listening', callback);
    this.server.listen(options.port, options.host, options.backlog);
  }

  address(): AddressInfo | string | null {
    return this.server.address();
  }

  /** Stop accepting connections; existing ones stay open (as in `ws`). */
  close(callback?: (error?: Error) => void): void {
    this.server.close(() => {
      this.emit('close');
      callback?.();
    });
  }

  private acceptSocket(socket: Socket): void {
    const parser = new RequestHeadParser(this.options.headLimits);
    const timer = setTimeout(() => socket.destroy(), this.options.handshakeTimeout ?? 10_000);
    const onData = (chunk: Buffer): void => {
      const result = parser.push(chunk);
      if (result.kind === 'incomplete') return;
      socket.removeListener('data', onData);
      clearTimeout(timer);
      socket.pause();
      if (result.kind === 'error') {
        rejectSocket(socket, result.error);
      } else {
        this.upgrade(result.head, socket, result.rest);
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => clearTimeout(timer));
  }

  private upgrade(head: RequestHead, socket: Socket, rest: Buffer): void {
    const path = this.options.path;
    if (path !== undefined && pathOf(head.target) !== path) {
      rejectSocket(socket, new HandshakeError(400, 'Unexpected path'));
      return;
    }
    const upgrade = validateUpgradeRequest(head);
    if (upgrade instanceof HandshakeError) {
      rejectSocket(socket, upgrade);
      return;
    }
    const request = toUpgradeRequest(head, socket);
    let protocol: string | undefined;
    if (upgrade.protocols.length > 0) {
      const choose = this.options.handleProtocols;
      const chosen = choose === undefined ? upgrade.protocols[0] : choose(new Set(upgrade.protocols), request);
      protocol = typeof chosen === 'string' ? chosen : undefined;
    }
    socket.write(buildAcceptResponse(upgrade.key, protocol, undefined));

    const ws = new WebSocket();
    ws._attach(socket, 'server', rest, { url: head.target, protocol: protocol ?? '', extensions: '' }, {
      maxPayload: this.options.maxPayload,
      skipUtf8Validation: this.options.skipUTF8Validation,
      autoPong: this.options.autoPong,
      closeTimeout: this.options.closeTimeout,
    });
    if (this.options.clientTracking !== false) {
      this.clients.add(ws);
      ws.on('close', () => this.clients.delete(ws));
    }
    this.emit('connection', ws, request);
  }
}

/** Answer a failed handshake with its HTTP status and close the socket once the answer is out. */
function rejectSocket(socket: Socket, error: HandshakeError): void {
  if (socket.destroyed) return;
  socket.once('finish', () => socket.destroy());
  socket.end(buildErrorResponse(error.status, error.message, error.headers));
}

function pathOf(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

function toUpgradeRequest(head: RequestHead, socket: Socket): UpgradeRequest {
  // Null prototype: a header named __proto__ or constructor is just a key.
  const headers: Record<string, string> = Object.create(null);
  for (const [name, values] of head.headers) headers[name] = values.join(', ');
  const [major, minor] = head.version.split('.').map(Number);
  return {
    method: head.method,
    url: head.target,
    httpVersion: head.version,
    httpVersionMajor: major ?? 1,
    httpVersionMinor: minor ?? 1,
    headers,
    rawHeaders: head.rawHeaders,
    socket,
  };
}
