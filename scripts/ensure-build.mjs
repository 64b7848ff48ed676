// Runs scripts/build.mjs when dist/ is missing or older than what it is built from: the `pre` step of
// `npm start`, `npm test` and the other scripts that load dist/ (the package is built by `prepack`, not
// on install, so a fresh clone has no dist/ until one of these runs).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newestMtime(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

// The last file the build writes.
const built = join(root, 'dist/esm/redis/main.mjs');
const sources = ['src', 'scripts/build.mjs', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.cjs.json', 'package.json'];
const newest = Math.max(...sources.map((source) => newestMtime(join(root, source))));
if (!existsSync(built) || statSync(built).mtimeMs < newest) {
  process.stderr.write(`dist/ is ${existsSync(built) ? 'older than src/' : 'missing'}: building it (npm run build)\n`);
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
}
