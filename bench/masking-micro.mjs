// Microbenchmark for src/masking/mask.ts against a plain byte loop and ws's JS unmask.
// Run: npm run build && node bench/masking-micro.mjs [sizes...]   (sizes in bytes)
// MASK_MODULE=<path> measures another build of mask.js. Run compiled JS, not tsx: in tight loops the
// tsx/esbuild output measured 2-4x slower here and distorted the thresholds.
// Contenders run interleaved (A B C A B C ...); each cell is the median ns per call over the rounds.
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const modulePath = process.env.MASK_MODULE
  ? pathToFileURL(resolve(process.env.MASK_MODULE)).href
  : new URL('../dist/esm/masking/mask.js', import.meta.url).href;
const { NEW_ARRAY_WORD_LOOP_THRESHOLD, maskInto, unmask, WORD_LOOP_THRESHOLD } = await import(modulePath);
// The read area: socket reads of the standalone server and the ws:// client land there (see
// src/transport/shared-reads.ts), and the kernel XORs them in place with no copy.
const { simdReadArea } = await import(new URL('./simd.js', modulePath).href);
const readArea = simdReadArea();

const require = createRequire(import.meta.url);
const wsBufferUtil = require(join(dirname(require.resolve('ws')), 'lib/buffer-util.js'));

const KEY = 0x12345678;
const KEY_BYTES = new Uint8Array([0x12, 0x34, 0x56, 0x78]);

function plainUnmask(buf, start, end, key) {
  for (let i = start; i < end; i++) buf[i] ^= key[(i - start) & 3];
}

const contenders = [
  ['byte loop', (_chunk, _start, piece, size) => plainUnmask(piece, 0, size, KEY_BYTES)],
  ['ws unmask', (_chunk, _start, piece) => wsBufferUtil.unmask(piece, KEY_BYTES)],
  ['unmask', (chunk, start, _piece, size) => unmask(chunk, start, start + size, KEY, 1)],
  ['maskInto', (_chunk, _start, piece, size, dst) => maskInto(piece, 0, size, KEY, dst, 6)],
];

// Scenario "chunk": each payload lies at one of four offsets (all alignments) inside one chunk object,
// as many frames do inside one read. Scenario "fresh": every call gets another chunk object (one frame
// per read). Scenario "read area": as "chunk", with the chunk in the kernel's read area (when four
// payloads do not fit in it, they overlap: starts 0..3). `piece` is the payload as its own view (what
// ws's unmask takes).
function timeOnce(fn, chunks, starts, pieces, size, dst) {
  const iterations = Math.max(8, Math.floor(32e6 / (size + 64)));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(chunks[i & 3], starts[i & 3], pieces[i & 3], size, dst);
  return Number(process.hrtime.bigint() - t0) / iterations;
}

const sizes = process.argv.length > 2
  ? process.argv.slice(2).map(Number)
  : [8, 16, 32, 64, 128, 256, 1024, 16384, 65536, (1 << 20) + 3];
const rounds = 9;
console.log(`${new Date().toISOString()} node ${process.version} ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}`);
console.log(`WORD_LOOP_THRESHOLD=${WORD_LOOP_THRESHOLD} NEW_ARRAY_WORD_LOOP_THRESHOLD=${NEW_ARRAY_WORD_LOOP_THRESHOLD}`);
for (const scenario of ['chunk', 'fresh', 'read area']) {
  console.log(`scenario ${scenario}: ns per call (GB/s), median of ${rounds} interleaved rounds`);
  console.log(['size', ...contenders.map(([name]) => name)].join('\t'));
  for (const size of sizes) {
    const stride = size + 24;
    const overlap = scenario === 'read area' && 4 * stride > readArea.length;
    if (overlap && size + 3 > readArea.length) continue;
    const one = scenario === 'read area' ? readArea.subarray(0, Math.min(4 * stride, readArea.length)).fill(0) : Buffer.alloc(4 * stride);
    const chunks = scenario === 'fresh' ? [0, 1, 2, 3].map(() => Buffer.alloc(4 * stride)) : [one, one, one, one];
    const starts = [0, 1, 2, 3].map((o) => (overlap ? o : o * stride + o));
    const pieces = starts.map((start, o) => chunks[o].subarray(start, start + size));
    const dst = Buffer.alloc(size + 16);
    for (const [, fn] of contenders) timeOnce(fn, chunks, starts, pieces, size, dst); // warm up
    const samples = contenders.map(() => []);
    for (let r = 0; r < rounds; r++) {
      contenders.forEach(([, fn], j) => samples[j].push(timeOnce(fn, chunks, starts, pieces, size, dst)));
    }
    const cells = samples.map((s) => {
      s.sort((a, b) => a - b);
      const ns = s[rounds >> 1];
      return `${ns.toFixed(1)} (${(size / ns).toFixed(2)})`;
    });
    console.log([String(size), ...cells].join('\t'));
  }
}
