// `rfc6455 serve --static <dir>`: the files of one folder over HTTP, on the WebSocket server's port.
// Only GET and HEAD; nothing outside the folder (`..`, encoded slashes, symbolic links leading out),
// no dotfiles (.git, .env), no directory listings (a directory gives its index.html).
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.pdf': 'application/pdf',
  '.mp3': 'audio/mpeg',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

/** The Content-Type of a file name: by its extension, application/octet-stream when unknown. */
export function contentType(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** The folder, resolved; throws an Error when it is not a readable directory. */
export function staticRoot(dir: string): string {
  const root = realpathSync(dir);
  if (!statSync(root).isDirectory()) throw new Error(`not a directory: ${dir}`);
  return root;
}

/**
 * The file a request path names inside `root` (already resolved), or undefined when the path is
 * malformed, reaches outside `root` or into a dotfile. Does not touch the file system.
 */
export function mapPath(root: string, requestUrl: string): string | undefined {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(requestUrl, 'http://localhost').pathname);
  } catch {
    return undefined;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return undefined;
  const segments = pathname.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment.startsWith('.'))) return undefined;
  const file = resolve(root, ...segments);
  return inside(root, file) ? file : undefined;
}

function inside(root: string, file: string): boolean {
  return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The request handler of an http.Server serving `root` (from staticRoot). */
export function staticFiles(root: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    serveFile(root, req, res).catch(() => {
      if (!res.headersSent) fail(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  };
}

async function serveFile(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return fail(res, 405, 'Method Not Allowed');
  }
  const mapped = mapPath(root, req.url ?? '/');
  if (mapped === undefined) return fail(res, 404, 'Not Found');
  let file: string;
  try {
    // A symbolic link may lead out of the folder: compare where it really is.
    file = await realpath(mapped);
    if (!inside(root, file)) return fail(res, 404, 'Not Found');
    if ((await stat(file)).isDirectory()) file = await realpath(join(file, 'index.html'));
    if (!inside(root, file)) return fail(res, 404, 'Not Found');
  } catch {
    return fail(res, 404, 'Not Found');
  }
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) return fail(res, 404, 'Not Found');
  res.writeHead(200, {
    'Content-Type': contentType(file),
    'Content-Length': info.size,
    'Last-Modified': info.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') return void res.end();
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function fail(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) + 1, 'X-Content-Type-Options': 'nosniff' });
  res.end(`${text}\n`);
}
