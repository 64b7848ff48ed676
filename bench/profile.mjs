// CPU profile of the rfc6455 echo server under load: node bench/profile.mjs [--size 16 --conns 100 --inflight 16]
// or, for connection cycles: node bench/profile.mjs --scenario handshake --concurrency 64
// Runs `node --cpu-prof bin/rfc6455.cjs serve --echo` pinned to core 0, drives it with bench/load.mjs pinned to
// core 1, then ranks functions by self time (share of samples) and files by the sum of their functions.
// Writes bench/PROFILE.md and keeps the raw .cpuprofile in bench/results/ (open it in Chrome DevTools).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, installCleanupHooks, spawnPinned, stopChild, waitForOutput } from './lib/processes.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const { values: opts } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'throughput' },
    concurrency: { type: 'string', default: '64' },
    size: { type: 'string', default: '16' },
    conns: { type: 'string', default: '100' },
    inflight: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '5000' },
    top: { type: 'string', default: '25' },
    out: { type: 'string', default: join(BENCH, 'PROFILE.md') },
  },
});

/** Where a call frame lives, shortened for a table. */
function place(callFrame) {
  const url = callFrame.url;
  if (!url) return '';
  const local = url.startsWith('file://') ? fileURLToPath(url) : url;
  const short = local.startsWith(ROOT) ? local.slice(ROOT.length + 1) : local;
  return `${short}:${callFrame.lineNumber + 1}`;
}

function fileOf(callFrame) {
  const url = callFrame.url;
  if (!url) return callFrame.functionName.startsWith('(') ? callFrame.functionName : '(native)';
  const local = url.startsWith('file://') ? fileURLToPath(url) : url;
  return local.startsWith(ROOT) ? local.slice(ROOT.length + 1) : local;
}

/** Shares are of the busy samples: (idle) is time the event loop waited (or the process was not scheduled). */
function analyze(profile, top) {
  const byFunction = new Map();
  const byFile = new Map();
  let idle = 0;
  let total = 0;
  for (const node of profile.nodes) {
    if (!node.hitCount) continue;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') {
      idle += node.hitCount;
      continue;
    }
    total += node.hitCount;
    const key = `${frame.functionName || '(anonymous)'}\u0000${place(frame)}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + node.hitCount);
    const file = fileOf(frame);
    byFile.set(file, (byFile.get(file) ?? 0) + node.hitCount);
  }
  const rank = (map) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    total,
    idle,
    seconds: (profile.endTime - profile.startTime) / 1e6,
    functions: rank(byFunction).map(([key, hits]) => {
      const [name, where] = key.split('\u0000');
      return { name, where, share: hits / total };
    }),
    files: rank(byFile).map(([file, hits]) => ({ file, share: hits / total })),
  };
}

async function main() {
  installCleanupHooks();
  const dir = mkdtempSync(join(os.tmpdir(), 'rfc6455-prof-'));
  const port = await freePort(18900, 18999);
  const server = spawnPinned(0, ['bin/rfc6455.cjs', 'serve', '--echo', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: ROOT,
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  let load;
  try {
    await waitForOutput(server, /listening on/, 15000);
    load = spawnPinned(
      1,
      [
        'bench/load.mjs',
        '--scenario', opts.scenario,
        ...(opts.scenario === 'handshake'
          ? ['--concurrency', opts.concurrency]
          : ['--size', opts.size, '--conns', opts.conns, '--inflight', opts.inflight]),
        '--warmup', opts.warmup,
        '--duration', opts.duration,
        '--port', String(port),
        '--server-pid', String(server.pid),
      ],
      { cwd: ROOT },
    );
    await load.exited;
  } finally {
    await stopChild(server, 10000);
  }
  const result = JSON.parse(load.stdoutText.trim().split('\n').pop());
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written (server stderr: ${server.stderrText.trim().slice(-300)})`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  copyFileSync(join(dir, file), join(BENCH, 'results', 'rfc6455-echo.cpuprofile'));
  rmSync(dir, { recursive: true, force: true });

  const top = Number(opts.top);
  const summary = analyze(profile, top);
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a checkout
  }
  const pct = (share) => `${(share * 100).toFixed(1)}%`;
  const handshake = opts.scenario === 'handshake';
  const command = handshake
    ? `node bench/profile.mjs --scenario handshake --concurrency ${opts.concurrency}`
    : `node bench/profile.mjs --size ${opts.size} --conns ${opts.conns} --inflight ${opts.inflight}`;
  const rate = handshake
    ? `${Math.round(result.perSec).toLocaleString('en-US')} connection cycles/s`
    : `${Math.round(result.msgsPerSec).toLocaleString('en-US')} msg/s echoed`;
  const lines = [
    '# CPU profile of the rfc6455 echo server',
    '',
    `\`${command}\` on ${new Date().toISOString()}, commit ${commit}, Node ${process.version}, ${os.cpus()[0]?.model}; load average ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}.`,
    '',
    `Load during the profile: ${rate}, server CPU ${Math.round(result.serverCpu * 100)}%, load generator CPU ${Math.round(
      result.genCpu * 100,
    )}%. ${summary.total.toLocaleString('en-US')} busy samples (plus ${summary.idle.toLocaleString('en-US')} idle ones, left out of the shares) over ${summary.seconds.toFixed(1)} s of the whole server life (start-up, warm-up, measurement, shutdown). \`writev\`/\`writeBuffer\` and other unnamed native frames are mostly the time spent in the socket system calls. Raw profile: bench/results/rfc6455-echo.cpuprofile.`,
    '',
    `## Top ${top} functions by self time`,
    '',
    '| Self | Function | Where |',
    '|--:|---|---|',
    ...summary.functions.map((f) => `| ${pct(f.share)} | \`${f.name}\` | ${f.where} |`),
    '',
    '## Self time by file',
    '',
    '| Self | File |',
    '|--:|---|',
    ...summary.files.map((f) => `| ${pct(f.share)} | ${f.file} |`),
    '',
  ];
  writeFileSync(opts.out, `${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`profile: ${error.stack ?? error}\n`);
    process.exit(1);
  },
);
