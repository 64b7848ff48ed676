// The client's HTTP proxy: which proxy a URL goes through (the `proxy` option, else HTTPS_PROXY /
// HTTP_PROXY minus NO_PROXY, as curl reads them) and the CONNECT tunnel to it (RFC 9110 §9.3.6).
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { unescape as percentDecode } from 'node:querystring';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { ResponseHeadParser } from '../handshake/head-parser.js';

/** The environment variables read, each lower-case first (curl's order). */
export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

function envValue(env: ProxyEnvironment, name: string): string | undefined {
  const value = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * The proxy for a connection to `host`:`port`: `explicit` when given (false: none), else
 * HTTPS_PROXY (wss:) or HTTP_PROXY (ws:) unless the host is a loopback one or NO_PROXY lists it. Throws SyntaxError for a
 * proxy URL that is not http: or https:.
 */
export function proxyFor(
  secure: boolean,
  host: string,
  port: number,
  explicit: string | URL | false | undefined,
  env: ProxyEnvironment,
): URL | undefined {
  if (explicit === false) return undefined;
  let value: string | undefined;
  if (explicit !== undefined) value = String(explicit);
  else {
    value = envValue(env, secure ? 'https_proxy' : 'http_proxy');
    if (value === undefined || isLoopback(host) || bypassesProxy(host, port, envValue(env, 'no_proxy'))) return undefined;
  }
  let url: URL;
  try {
    // curl accepts "host:port" without a scheme and means http.
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new SyntaxError(`Invalid proxy URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SyntaxError(`Invalid proxy URL: ${value}`);
  return url;
}

/**
 * localhost (and its subdomains, RFC 6761 §6.3), 127.0.0.0/8 and ::1: never sent to a proxy from the
 * environment (as Go's net/http), since a proxy elsewhere cannot reach this machine's loopback.
 */
function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost') || name === '::1') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

/**
 * NO_PROXY: comma- or space-separated entries; `*` matches every host, `name` matches that host and
 * its subdomains (a leading `.` or `*.` is the same), `name:port` only that port. IP literals match
 * exactly (IPv6 with or without brackets).
 */
export function bypassesProxy(host: string, port: number, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const hostname = host.toLowerCase().replace(/\.$/, '');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: number | undefined;
    const bracket = entry.startsWith('[') ? entry.indexOf(']') : -1;
    if (bracket !== -1) {
      if (entry.charAt(bracket + 1) === ':') entryPort = Number(entry.slice(bracket + 2));
      entry = entry.slice(1, bracket);
    } else if (isIP(entry) !== 6) {
      const colon = entry.lastIndexOf(':');
      if (colon !== -1) {
        entryPort = Number(entry.slice(colon + 1));
        entry = entry.slice(0, colon);
      }
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    if (entry.startsWith('*.')) entry = entry.slice(1);
    if (entry.startsWith('.')) entry = entry.slice(1);
    if (hostname === entry || (isIP(hostname) === 0 && hostname.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/** What `http.request` passes to `createConnection` (the WebSocket's options, host and port set). */
export type ConnectionRequestOptions = TlsConnectionOptions & { host: string; port: number; timeout?: number };

type ConnectionCallback = (error: Error | null, socket?: Socket) => void;

/**
 * A `createConnection(options, callback)` for `http.request` that opens a CONNECT tunnel through
 * `proxy` to options.host:port, with Proxy-Authorization (Basic) from the proxy URL's credentials;
 * when `secure`, TLS to the target runs inside the tunnel with the WebSocket's TLS options.
 */
export function tunnelThrough(proxy: URL, secure: boolean): (options: ConnectionRequestOptions, callback: ConnectionCallback) => undefined {
  const proxyHost = proxy.hostname.startsWith('[') ? proxy.hostname.slice(1, -1) : proxy.hostname;
  const proxyTls = proxy.protocol === 'https:';
  const proxyPort = proxy.port === '' ? (proxyTls ? 443 : 80) : Number(proxy.port);
  const credentials =
    proxy.username !== '' || proxy.password !== ''
      ? `Basic ${Buffer.from(`${percentDecode(proxy.username)}:${percentDecode(proxy.password)}`).toString('base64')}`
      : undefined;
  return (options, callback) => {
    const socket: Socket = proxyTls
      ? tlsConnect({ host: proxyHost, port: proxyPort, servername: isIP(proxyHost) === 0 ? proxyHost : '' })
      : netConnect({ host: proxyHost, port: proxyPort });
    const authority = `${isIP(options.host) === 6 ? `[${options.host}]` : options.host}:${options.port}`;
    let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
    if (credentials !== undefined) head += `Proxy-Authorization: ${credentials}\r\n`;
    socket.write(`${head}\r\n`, 'latin1');

    const parser = new ResponseHeadParser();
    const done = (error: Error | null, tunnel?: Socket): void => {
      socket.setTimeout(0);
      socket.removeListener('timeout', onTimeout);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (error !== null) {
        socket.on('error', noop);
        socket.destroy();
      }
      callback(error, tunnel);
    };
    const onData = (chunk: Buffer): void => {
      const result = parser.push(chunk);
      if (result.kind === 'incomplete') return;
      if (result.kind === 'error') {
        done(new Error(`Invalid proxy response: ${result.error.message}`));
        return;
      }
      const status = result.head.status;
      if (status < 200 || status >= 300) {
        done(new Error(`Proxy refused the tunnel: ${status}`));
        return;
      }
      // Whatever follows the head belongs to the tunnel; the reader that takes over starts after a tick.
      socket.pause();
      if (result.rest.length > 0) socket.unshift(Buffer.from(result.rest));
      if (!secure) {
        done(null, socket);
        process.nextTick(() => socket.resume());
        return;
      }
      const servername = options.servername ?? (isIP(options.host) === 0 ? options.host : '');
      done(null, tlsConnect({ ...options, servername, socket }));
    };
    const onError = (error: Error): void => done(error);
    // The request's timeout (handshakeTimeout) bounds the tunnel too: node only sees the socket after it.
    const onTimeout = (): void => done(new Error('Opening handshake has timed out'));
    if (options.timeout !== undefined && options.timeout > 0) {
      socket.setTimeout(options.timeout);
      socket.on('timeout', onTimeout);
    }
    const onClose = (): void => done(new Error('The proxy closed the connection before the tunnel was open'));
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    return undefined;
  };
}

function noop(): void {}
