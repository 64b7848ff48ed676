// Packs rfc6455, installs the tarball into an empty project and checks that plain Node can use it:
// `require('rfc6455')`, `import 'rfc6455'`, the type declarations, and the `rfc6455` command.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'rfc6455-package-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

try {
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', work], root).trim().split('\n').pop();
  writeFileSync(join(work, 'package.json'), '{ "name": "consumer", "private": true }\n');
  run('npm', ['install', '--silent', '--no-audit', '--no-fund', join(work, tarball)], work);

  const cjs = run(process.execPath, ['-e', `
    const m = require('rfc6455');
    if (typeof m.WebSocket !== 'function' || typeof m.WebSocketServer !== 'function') throw new Error('CJS exports missing');
    console.log('require ok');`], work);
  const esm = run(process.execPath, ['--input-type=module', '-e', `
    import { WebSocket, WebSocketServer } from 'rfc6455';
    if (typeof WebSocket !== 'function' || typeof WebSocketServer !== 'function') throw new Error('ESM exports missing');
    console.log('import ok');`], work);
  const pkg = join(work, 'node_modules', 'rfc6455');
  for (const types of ['dist/esm/index.d.ts', 'dist/cjs/index.d.ts']) {
    if (!existsSync(join(pkg, types))) throw new Error(`missing ${types}`);
  }
  const bin = spawnSync(join(work, 'node_modules', '.bin', 'rfc6455'), ['--help'], { cwd: work, encoding: 'utf8' });
  if (bin.status !== 0 || !`${bin.stdout}${bin.stderr}`.includes('serve')) {
    throw new Error(`rfc6455 --help failed (status ${bin.status}): ${bin.stdout}${bin.stderr}`);
  }
  process.stdout.write(`${cjs}${esm}types ok\nbin ok\npackage check passed (${tarball})\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
