// Packs rfc6455, installs the tarball into an empty project and checks that plain Node can use it:
// `require('rfc6455')` (the WebSocket class, as `require('ws')`), `import 'rfc6455'` (named exports and the
// class as default), the 'rfc6455/redis' subpath, the type declarations (present, and type-checking for
// import and require), the `rfc6455` command; then lints the tarball (publint, and @arethetypeswrong/cli
// for the types every resolution mode sees) and holds it to a size budget.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The tarball's budget (measured at 0.1.0: 454 kB packed, 1.84 MB unpacked, source maps with their
// sources embedded). Raise it on purpose, not by accident.
const BUDGET = { packed: 600_000, unpacked: 2_500_000 };
const work = mkdtempSync(join(tmpdir(), 'rfc6455-package-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

try {
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', work], root).trim().split('\n').pop();
  writeFileSync(join(work, 'package.json'), '{ "name": "consumer", "private": true }\n');
  run('npm', ['install', '--silent', '--no-audit', '--no-fund', join(work, tarball)], work);

  // As with ws: the CommonJS module is the WebSocket class, carrying the other exports as properties.
  const cjs = run(process.execPath, ['-e', `
    const assert = require('node:assert');
    const WebSocket = require('rfc6455');
    assert.strictEqual(typeof WebSocket, 'function', 'require() returns the WebSocket class');
    assert.strictEqual(WebSocket.WebSocket, WebSocket, 'WebSocket.WebSocket');
    assert.strictEqual(typeof WebSocket.WebSocketServer, 'function', 'WebSocket.WebSocketServer');
    assert.strictEqual(WebSocket.Server, WebSocket.WebSocketServer, 'WebSocket.Server');
    assert.strictEqual(typeof WebSocket.createWebSocketStream, 'function', 'WebSocket.createWebSocketStream');
    assert.strictEqual(WebSocket.OPEN, 1, 'WebSocket.OPEN');
    const { WebSocket: named, WebSocketServer, CloseCode } = require('rfc6455');
    assert.strictEqual(named, WebSocket, 'destructured WebSocket');
    assert.strictEqual(WebSocketServer, WebSocket.Server, 'destructured WebSocketServer');
    assert.strictEqual(typeof CloseCode, 'object', 'destructured CloseCode');
    console.log('require ok (the WebSocket class, with Server, WebSocketServer, WebSocket, createWebSocketStream)');`], work);
  const esm = run(process.execPath, ['--input-type=module', '-e', `
    import assert from 'node:assert';
    import WebSocketDefault, { WebSocket, WebSocketServer, createWebSocketStream } from 'rfc6455';
    assert.strictEqual(typeof WebSocket, 'function', 'named WebSocket');
    assert.strictEqual(typeof WebSocketServer, 'function', 'named WebSocketServer');
    assert.strictEqual(typeof createWebSocketStream, 'function', 'named createWebSocketStream');
    assert.strictEqual(WebSocketDefault, WebSocket, 'the default export is the WebSocket class');
    assert.strictEqual(WebSocketDefault.Server, WebSocketServer, 'WebSocket.Server');
    // One copy of the library per process, as with ws: what import gives is what require gives.
    const { createRequire } = await import('node:module');
    const required = createRequire(import.meta.url)('rfc6455');
    assert.strictEqual(required, WebSocket, 'import and require give the same WebSocket class');
    assert.strictEqual(required.WebSocketServer, WebSocketServer, 'import and require give the same WebSocketServer');
    const redisEsm = await import('rfc6455/redis');
    assert.strictEqual(redisEsm.RedisBroker, createRequire(import.meta.url)('rfc6455/redis').RedisBroker, 'one RedisBroker');
    console.log('import ok (named exports, default export is the WebSocket class, the same objects as require)');`], work);
  // The 'rfc6455/redis' subpath, with neither Redis client installed (they are optional peer dependencies).
  const redis = run(process.execPath, ['-e', `
    const assert = require('node:assert');
    assert.throws(() => require.resolve('ioredis'), 'ioredis is not installed with rfc6455');
    assert.throws(() => require.resolve('redis'), 'redis is not installed with rfc6455');
    const { RedisBroker } = require('rfc6455/redis');
    assert.strictEqual(typeof RedisBroker, 'function', 'require rfc6455/redis: RedisBroker');
    assert.throws(() => new RedisBroker({ client: {} }), TypeError, 'a non-client is refused');
    import('rfc6455/redis').then((esm) => {
      assert.strictEqual(typeof esm.RedisBroker, 'function', 'import rfc6455/redis: RedisBroker');
      console.log('rfc6455/redis ok (require and import, no Redis client installed)');
    });`], work);
  const pkg = join(work, 'node_modules', 'rfc6455');
  for (const types of ['dist/esm/index.d.ts', 'dist/cjs/main.d.cts', 'dist/esm/redis/index.d.ts', 'dist/cjs/redis/index.d.ts']) {
    if (!existsSync(join(pkg, types))) throw new Error(`missing ${types}`);
  }
  // The installed declarations type-check, with no skipLibCheck, for both kinds of consumer
  // (test/types/parity.test.ts compares them with @types/ws program by program).
  writeFileSync(join(work, 'esm.mts'), `import WebSocket, { WebSocketServer, type RawData } from 'rfc6455';
const wss = new WebSocketServer({ port: 0 });
wss.on('connection', (ws: WebSocket) => ws.on('message', (data: RawData, isBinary) => ws.send(data, { binary: isBinary })));
`);
  writeFileSync(join(work, 'cjs.cts'), `import WebSocket = require('rfc6455');
const wss: WebSocket.Server = new WebSocket.Server({ port: 0 });
wss.on('connection', (ws: WebSocket) => ws.on('message', (data: WebSocket.RawData, isBinary) => ws.send(data, { binary: isBinary })));
`);
  const compilerOptions = { strict: true, noEmit: true, module: 'node16', types: ['node'], typeRoots: [join(root, 'node_modules/@types')] };
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['esm.mts', 'cjs.cts'] }));
  const tsc = spawnSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', work], { cwd: work, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`the installed declarations do not type-check:\n${tsc.stdout}${tsc.stderr}`);
  const bin = spawnSync(join(work, 'node_modules', '.bin', 'rfc6455'), ['--help'], { cwd: work, encoding: 'utf8' });
  if (bin.status !== 0 || !`${bin.stdout}${bin.stderr}`.includes('serve')) {
    throw new Error(`rfc6455 --help failed (status ${bin.status}): ${bin.stdout}${bin.stderr}`);
  }
  const version = spawnSync(join(work, 'node_modules', '.bin', 'rfc6455'), ['--version'], { cwd: work, encoding: 'utf8' });
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
  if (version.stdout !== `${manifest.version}\n`) throw new Error(`rfc6455 --version printed ${JSON.stringify(version.stdout)}, not ${manifest.version}`);

  // What consumers get: no install script, the license and changelog, source maps that carry their
  // sources (src/ is not shipped), no file of the ES build other than the entries and declarations.
  const installScripts = ['preinstall', 'install', 'postinstall', 'prepare'].filter((name) => manifest.scripts?.[name] !== undefined);
  if (installScripts.length > 0) throw new Error(`the package runs install scripts: ${installScripts.join(', ')}`);
  for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md']) if (!existsSync(join(pkg, file))) throw new Error(`missing ${file}`);
  const files = walk(pkg);
  for (const file of files.filter((path) => path.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(file, 'utf8'));
    if (!Array.isArray(map.sourcesContent) || map.sourcesContent.length !== map.sources.length) throw new Error(`${file}: the source map does not embed its sources`);
  }
  const stray = files.filter((path) => path.startsWith(join(pkg, 'dist', 'esm')) && /\.js(\.map)?$/.test(path));
  if (stray.length > 0) throw new Error(`the ES build's modules are shipped (only its entries and declarations are needed): ${stray[0]}`);
  const packed = statSync(join(work, tarball)).size;
  const unpacked = files.reduce((sum, file) => sum + statSync(file).size, 0);
  if (packed > BUDGET.packed || unpacked > BUDGET.unpacked) {
    throw new Error(`the tarball is over its budget: ${packed} bytes packed (budget ${BUDGET.packed}), ${unpacked} unpacked (budget ${BUDGET.unpacked})`);
  }

  // The lints, on the tarball itself: publint (package.json against the files), attw (types in every resolution mode).
  const tool = (name) => join(root, 'node_modules', '.bin', name);
  const publint = spawnSync(tool('publint'), ['run', join(work, tarball), '--strict', '--level', 'warning'], { encoding: 'utf8' });
  if (publint.status !== 0) throw new Error(`publint found problems:\n${publint.stdout}${publint.stderr}`);
  // rfc6455/pubsub-client is one ES module for browsers and Node alike: from CommonJS it is reached with
  // import(), which is what attw's cjs-resolves-to-esm reports. Every other entry point must pass every rule.
  const attw = spawnSync(tool('attw'), [join(work, tarball), '--no-emoji', '--no-color', '--format', 'table-flipped', '--exclude-entrypoints', 'pubsub-client'], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  if (attw.status !== 0) throw new Error(`@arethetypeswrong/cli found problems:\n${attw.stdout}${attw.stderr}`);

  process.stdout.write(`${cjs}${esm}${redis}types ok (the declarations type-check for import and require)\nbin ok (--help, --version ${manifest.version})\nno install scripts; LICENSE, CHANGELOG.md; source maps embed their sources\n` +
      `size ok: ${packed} bytes packed (budget ${BUDGET.packed}), ${unpacked} unpacked (budget ${BUDGET.unpacked}), ${files.length} files\n` +
      `publint ok\nattw ok (node10, node16 from CJS and ESM, bundler)\npackage check passed (${tarball})\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Every file under `dir`. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));
}
