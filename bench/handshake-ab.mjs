// Interleaved A/B of the handshake and idle-memory scenarios with the C generator: the net.Socket floor,
// `ws`, and one or more rfc6455 builds (a directory holding bin/rfc6455.cjs and its dist/), each round
// starting every server afresh (taskset -c 0) and the generator on core 1.
//   node bench/handshake-ab.mjs --rounds 3 --build base=/tmp/hs-base --build branch=. [--scenario handshake|idle|both]
// Prints one JSON line per measurement and a median table at the end.
import { spawn, execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { abServers, loopbackPort, serverReady } from './lib/ab-servers.mjs';
import { ensureGenerator } from './lib/generator.mjs';

const benchDir = new URL('.', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    build: { type: 'string', multiple: true, default: [] },
    scenario: { type: 'string', default: 'both' },
    duration: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '64' },
    conns: { type: 'string', default: '10000' },
    'no-peers': { type: 'boolean', default: false },
  },
});
const generator = ensureGenerator(benchDir);

const servers = abServers(benchDir, values.build, { floor: !values['no-peers'], ws: !values['no-peers'] });

async function start(server) {
  const port = await loopbackPort();
  const child = spawn('taskset', ['-c', '0', process.execPath, ...server.args, '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await serverReady(child, server);
  return { child, port };
}

function run(args) {
  const out = execFileSync('taskset', ['-c', '1', generator, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop());
}

const results = {};
const scenarios = values.scenario === 'both' ? ['handshake', 'idle'] : [values.scenario];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const scenario of scenarios) {
    for (const server of servers) {
      const { child, port } = await start(server);
      let result;
      try {
        result =
          scenario === 'handshake'
            ? run(['--scenario', 'handshake', '--port', String(port), '--concurrency', values.concurrency, '--duration', values.duration, '--server-pid', String(child.pid)])
            : run(['--scenario', 'idle', '--port', String(port), '--conns', values.conns, '--server-pid', String(child.pid)]);
      } finally {
        child.kill('SIGTERM');
        await new Promise((ok) => (child.exitCode !== null ? ok() : child.once('exit', ok)));
      }
      const row = { round, scenario, server: server.name, ...result };
      console.log(JSON.stringify(row));
      ((results[scenario] ??= {})[server.name] ??= []).push(row);
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim();
console.log(`\nmedians of ${values.rounds} interleaved rounds (load now ${load})`);
for (const scenario of scenarios) {
  const byServer = results[scenario];
  if (scenario === 'handshake') {
    const floor = byServer.floor ? median(byServer.floor.map((r) => r.perSec)) : NaN;
    const ws = byServer.ws ? median(byServer.ws.map((r) => r.perSec)) : NaN;
    console.log('| server | cycles/s | rounds | × floor | × ws | per server CPU-s | server CPU | generator CPU |');
    for (const [name, rows] of Object.entries(byServer)) {
      const m = median(rows.map((r) => r.perSec));
      console.log(
        `| ${name} | ${Math.round(m)} | ${rows.map((r) => Math.round(r.perSec)).join(', ')} | ${(m / floor).toFixed(2)} | ${(m / ws).toFixed(2)} | ${Math.round(median(rows.map((r) => r.perServerCpuSec)))} | ${Math.round(100 * median(rows.map((r) => r.serverCpu)))}% | ${Math.round(100 * median(rows.map((r) => r.genCpu)))}% |`,
      );
    }
  } else {
    const floor = byServer.floor ? median(byServer.floor.map((r) => r.bytesPerConn)) : NaN;
    console.log('| server | bytes/conn | rounds | − floor |');
    for (const [name, rows] of Object.entries(byServer)) {
      const m = median(rows.map((r) => r.bytesPerConn));
      console.log(`| ${name} | ${Math.round(m)} | ${rows.map((r) => Math.round(r.bytesPerConn)).join(', ')} | ${Math.round(m - floor)} |`);
    }
  }
}
