// The routed client handshake: when the application routes the connection (an `agent`, a
// `createConnection`, a `finishRequest`, a proxy, or an option only node's request honours), the
// request goes through node's `http.request` / `https.request`, as in `ws`, so agents (proxy agents
// included) supply the socket.
// The answer is checked by the same code as on the direct path (client.ts).
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type createConnection as netCreateConnection, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ResponseHead } from '../handshake/head-parser.js';
import { proxyFor, tunnelThrough, type ProxyEnvironment } from './proxy.js';
import type { WebSocket } from './websocket.js';

/** The options that route a connection: any of them sends the handshake through `http.request`. */
export interface RoutingOptions {
  /** An `http.Agent` / `https.Agent` (or a proxy agent) that supplies the socket, as in `ws`. */
  agent?: RequestOptions['agent'];
  /**
   * Called as `http.request` calls it: `(options, callback?)`, returning a socket (or calling back).
   * Typed as `@types/ws` types it (`net.createConnection`'s type).
   */
  createConnection?: typeof netCreateConnection;
  /** Called with the `http.ClientRequest` and the WebSocket instead of `req.end()`: it must end the request. */
  finishRequest?: (request: ClientRequest, websocket: WebSocket) => void;
  /**
   * An HTTP proxy URL (`http://user:pass@host:port`; https: for TLS to the proxy) to tunnel through
   * with CONNECT; false: no proxy. Default: HTTPS_PROXY (wss:) / HTTP_PROXY (ws:) unless NO_PROXY
   * lists the host; never when `agent` or `createConnection` is given.
   */
  proxy?: string | URL | false;
}

/** `http.request` options that only node's request honours: given, they route the request through it. */
const NODE_REQUEST_OPTIONS = ['setHost', 'maxHeaderSize', 'insecureHTTPParser', 'joinDuplicateHeaders', 'uniqueHeaders', 'signal'] as const;

/** The `http.request` options, besides the routing ones, that send the request through node (as `ws` always does). */
export type NodeRequestOptions = Pick<RequestOptions, (typeof NODE_REQUEST_OPTIONS)[number]>;

/** A host and port to reach (undefined socketPath) or a unix socket. */
export interface RouteTarget {
  secure: boolean;
  host: string;
  port: number;
  socketPath: string | undefined;
}

/**
 * How the connection to `target` is made: null for our direct request over net/tls, else the
 * `createConnection` to give `http.request` (undefined: the agent's). Throws TypeError for `proxy`
 * together with `agent` or `createConnection`.
 */
export function routeFor(
  target: RouteTarget,
  options: RoutingOptions,
  env: ProxyEnvironment,
): null | { createConnection: RequestOptions['createConnection'] | undefined } {
  const own = options.agent !== undefined || options.createConnection !== undefined;
  if (own && options.proxy !== undefined && options.proxy !== false) {
    throw new TypeError('The proxy option cannot be combined with agent or createConnection');
  }
  if (own) return { createConnection: options.createConnection as RequestOptions['createConnection'] };
  const proxy = target.socketPath === undefined ? proxyFor(target.secure, target.host, target.port, options.proxy, env) : undefined;
  if (proxy !== undefined) return { createConnection: tunnelThrough(proxy, target.secure) as RequestOptions['createConnection'] };
  if (options.finishRequest !== undefined || NODE_REQUEST_OPTIONS.some((name) => (options as Record<string, unknown>)[name] !== undefined)) {
    return { createConnection: undefined };
  }
  return null;
}

/** `ws`'s default connectors: net, or TLS with SNI for a host name (RFC 6066 §3: none for an IP). */
export function connectDirect(options: NetConnectOpts & TlsConnectionOptions & { host?: string; socketPath?: string }, secure: boolean): Socket {
  if (!secure) return netConnect({ ...options, path: options.socketPath } as NetConnectOpts);
  const host = options.host ?? '';
  const servername = options.servername ?? (isIP(host) === 0 ? host : '');
  return tlsConnect({ ...options, path: undefined, servername });
}

/**
 * Sends the request through node: `options` are the WebSocket's options (forwarded as `ws` forwards
 * them), `headers` the request's fields in order.
 */
export function sendThroughNode(
  target: RouteTarget & { path: string },
  options: Record<string, unknown>,
  headers: Record<string, string | number | readonly string[]>,
  createConnection: RequestOptions['createConnection'] | undefined,
  timeout: number | undefined,
): ClientRequest {
  const requestOptions = {
    ...options,
    protocols: undefined,
    hostname: undefined,
    protocol: undefined,
    auth: undefined,
    method: 'GET',
    host: target.host,
    // As `ws` (the URL's port, a string; the scheme's default, a number).
    port: target.port === (target.secure ? 443 : 80) ? target.port : String(target.port),
    path: target.path,
    socketPath: target.socketPath,
    defaultPort: target.secure ? 443 : 80,
    headers,
    timeout,
    createConnection: createConnection ?? ((o: NetConnectOpts & TlsConnectionOptions) => connectDirect(o, target.secure)),
  } as RequestOptions;
  // With an agent, node leaves the connection to it and ignores createConnection (as for `ws`).
  return (target.secure ? httpsRequest : httpRequest)(requestOptions);
}

/** The head of node's response, as our response parser gives it (lowercase names, values in order). */
export function headOf(response: IncomingMessage): ResponseHead {
  const headers = new Map<string, string[]>();
  const raw = response.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const values = headers.get(name);
    if (values === undefined) headers.set(name, [raw[i + 1]!]);
    else values.push(raw[i + 1]!);
  }
  return { version: response.httpVersion, status: response.statusCode ?? 0, reason: response.statusMessage ?? '', headers, rawHeaders: raw };
}
