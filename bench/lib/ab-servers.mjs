// The servers of the interleaved A/B scripts (handshake-ab.mjs, heap-by-constructor.mjs): the net.Socket
// floor, ws, and each rfc6455 build given as `name=dir` (a directory holding bin/rfc6455.cjs and its dist/).
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export function abServers(benchDir, builds, { floor = true, ws = true } = {}) {
  const servers = [];
  if (floor) servers.push({ name: 'floor', args: [join(benchDir, 'servers/net-floor.mjs')], ready: /ready/ });
  if (ws) servers.push({ name: 'ws', args: [join(benchDir, 'servers/ws-echo.mjs')], ready: /ready/ });
  for (const spec of builds) {
    const [name, dir] = spec.split('=');
    servers.push({ name, args: [resolve(dir, 'bin/rfc6455.cjs'), 'serve', '--echo'], ready: /listening/ });
  }
  return servers;
}

/** A port the kernel says is free on 127.0.0.1 now. */
export function loopbackPort() {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

/** Resolves once `server.ready` shows on the child's stdout (then keeps draining it); rejects if it exits first. */
export function serverReady(child, server) {
  return new Promise((ok, fail) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      if (server.ready.test(text)) ok();
    });
    child.once('exit', (code) => fail(new Error(`${server.name} exited (${code})`)));
  }).then(() => {
    child.stdout.resume();
  });
}
