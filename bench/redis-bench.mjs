// The Redis benchmarks: publish-to-delivery latency across two node processes through Redis, deliveries/s
// with subscribers split over two processes, Redis messages per publish with 4 nodes of which 1 is
// interested, and the time 1,000 clients take to resume with 100 missed messages each.
// Starts its own redis-server (no persistence) and its own nodes (bench/redis-node.mjs); the load is the C
// generator (bench/gen/wsgen.c, fan-out scenario, with --pub-port: the publisher on one node, the
// subscribers on another). The receiving node is pinned to core 0, the generator to core 1; the publishing
// node and Redis are not pinned. Writes bench/RESULTS-redis.md.
//   npm run build && node bench/redis-bench.mjs [--quick]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { ensureGenerator } from './lib/generator.mjs';
import { installCleanupHooks, spawnPinned, stopChild, waitForOutput } from './lib/processes.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
const runs = (name) => values.only === undefined || values.only.split(',').includes(name);
const DURATION = values.quick ? 2000 : 5000;
const WARMUP = values.quick ? 500 : 1500;
if (!existsSync(join(ROOT, 'dist/esm/redis/main.mjs'))) throw new Error('run `npm run build` first (dist/ is missing)');
installCleanupHooks();
const wsgen = ensureGenerator(BENCH);
const log = (text) => process.stderr.write(`${text}\n`);

// ------------------------------------------------------------------------------------------- processes

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const admin = new Redis({ host: '127.0.0.1', port, retryStrategy: (n) => (n > 100 ? null : 20) });
  admin.on('error', () => {});
  await admin.ping();
  return { port, child, admin };
}

/** A node; `core` null: not pinned. */
async function startNode(redisPort, args = [], core = null) {
  const nodeArgs = [join(BENCH, 'redis-node.mjs'), '--redis-port', String(redisPort), ...args];
  const child = core === null ? spawnPinned('0-' + (cpus().length - 1), nodeArgs, { cwd: ROOT }) : spawnPinned(core, nodeArgs, { cwd: ROOT });
  const [line] = await waitForOutput(child, /\{"ready".*\}\n/, 20000);
  const { port, pid } = JSON.parse(line);
  return { child, port, pid };
}

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function generator(args) {
  const child = spawnPinned(1, ['--scenario', 'fanout', '--size', '64', '--warmup', String(WARMUP), '--duration', String(DURATION), ...args], { command: wsgen });
  const { code } = await child.exited;
  const line = child.stdoutText.trim().split('\n').pop();
  if (code !== 0 || !line) throw new Error(`wsgen failed (${code}): ${child.stderrText.slice(-400)}`);
  return JSON.parse(line);
}

/** Runs `fn` while measuring the CPU seconds of `pids` (by name). */
async function withCpu(pids, fn) {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const t0 = performance.now();
  const result = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, (cpuSeconds(pid) - before[name]) / seconds]));
  return { result, cpu };
}

const ms = (us) => (us === null || us === undefined || Number.isNaN(us) ? 'n/a' : (us / 1000).toFixed(2));
const pct = (x) => `${Math.round(x * 100)}%`;

// ------------------------------------------------------------------------------------------- scenarios

const redis = await startRedis();
const out = { latency: [], split: null, messages: null, resume: null };
const cpuInfo = cpus();

// 1. Latency: publisher on node A, 1,000 (or fewer) subscribers on node B, through Redis.
if (runs('latency')) {
  const a = await startNode(redis.port);
  const b = await startNode(redis.port, [], 0);
  const runs = [
    [1000, 1000],
    [2000, 1000],
    [5000, 1000],
    [10000, 1000],
    [10000, 100],
  ];
  for (const [rate, subs] of runs) {
    log(`latency: ${rate}/s x ${subs} subscribers`);
    const { result, cpu } = await withCpu({ a: a.pid, redis: redis.child.pid }, () =>
      generator(['--port', String(b.port), '--pub-port', String(a.port), '--subs', String(subs), '--rate', String(rate), '--inflight', '4000', '--server-pid', String(b.pid)]),
    );
    out.latency.push({ rate, subs, ...result, cpuA: cpu.a, cpuRedis: cpu.redis });
  }
  await stopChild(a.child);
  await stopChild(b.child);
}

// 2. Deliveries/s, as fast as the window allows: 1,000 subscribers on one node, then 500 on each of two.
if (runs('split')) {
  // Two publishing nodes (the generators' publishers), one topic each; B hears t1, C hears t2.
  const a = await startNode(redis.port, ['--topic', 't1']);
  const a2 = await startNode(redis.port, ['--topic', 't2']);
  const b = await startNode(redis.port, ['--topic', 't1'], 0);
  const c = await startNode(redis.port, ['--topic', 't2'], 0);
  log('deliveries/s: 1,000 subscribers on one node');
  const one = await generator(['--port', String(b.port), '--pub-port', String(a.port), '--subs', '1000', '--rate', '0', '--inflight', '64', '--server-pid', String(b.pid)]);
  log('deliveries/s: 500 + 500 subscribers on two nodes');
  const [first, second] = await Promise.all([
    generator(['--port', String(b.port), '--pub-port', String(a.port), '--subs', '500', '--rate', '0', '--inflight', '64', '--server-pid', String(b.pid)]),
    generator(['--port', String(c.port), '--pub-port', String(a2.port), '--subs', '500', '--rate', '0', '--inflight', '64', '--server-pid', String(c.pid)]),
  ]);
  out.split = { one, first, second };
  for (const node of [a, a2, b, c]) await stopChild(node.child);
}

// 3. Redis messages per publish: 4 nodes, 1 interested in the topic (the 3 others have subscribers elsewhere).
if (runs('messages')) {
  log('Redis messages per publish: 4 nodes, 1 interested');
  const a = await startNode(redis.port, ['--topic', 'other', '--pub-topics', 'bench']);
  const b = await startNode(redis.port, ['--topic', 'bench']);
  const c = await startNode(redis.port, ['--topic', 'other']);
  const d = await startNode(redis.port, ['--topic', 'other']);
  const open = (port, path) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const subscriber = await open(b.port, '/sub');
  const others = await Promise.all([a, c, d].map((node) => open(node.port, '/sub')));
  const channel = 'rfc6455:{bench}';
  for (let i = 0; i < 500 && Number((await redis.admin.call('PUBSUB', 'NUMSUB', channel))[1]) < 1; i++) await new Promise((r) => setTimeout(r, 10));
  const stats = async () => {
    const info = `${await redis.admin.info('stats')}${await redis.admin.info('commandstats')}`;
    const field = (name) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0);
    const calls = Number(/cmdstat_publish:calls=(\d+)/.exec(info)?.[1] ?? 0);
    return { out: field('total_net_output_bytes'), commands: field('total_commands_processed'), publishCalls: calls };
  };
  const PUBLISHES = 1000;
  let received = 0;
  const all = new Promise((resolve) => {
    const timer = setTimeout(resolve, 20000);
    subscriber.on('message', () => {
      if (++received === PUBLISHES) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const publisher = await open(a.port, '/pub');
  const s0 = await stats();
  const payload = Buffer.alloc(64, 7);
  for (let i = 0; i < PUBLISHES; i++) publisher.send(payload);
  await all;
  await new Promise((r) => setTimeout(r, 200));
  const s1 = await stats();
  const numsub = Number((await redis.admin.call('PUBSUB', 'NUMSUB', channel))[1]);
  const pubsubClients = String(await redis.admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).trim().split('\n').length;
  out.messages = {
    publishes: PUBLISHES,
    received,
    publishCalls: s1.publishCalls - s0.publishCalls,
    commands: s1.commands - s0.commands - 2,
    outBytes: s1.out - s0.out,
    numsub,
    pubsubClients,
  };
  for (const ws of [subscriber, publisher, ...others]) ws.terminate();
  for (const node of [a, b, c, d]) await stopChild(node.child);
}

// 4. Resume: 1,000 clients reconnect at once to a node, each having missed the same 100 publishes of a history topic.
if (runs('resume')) {
  const a = await startNode(redis.port);
  const b = await startNode(redis.port, [], 0);
  const publisher = await new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${a.port}/pub`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
  // /pub of node A publishes on its --topic: restart A with the history topic as its topic.
  publisher.terminate();
  await stopChild(a.child);
  const h = await startNode(redis.port, ['--topic', 'h:bench']);
  const pub = await new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${h.port}/pub`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
  const meta = 'rfc6455:{h:bench}:meta';
  const offsetNow = async () => Number(await redis.admin.hget(meta, 'offset'));
  pub.send(Buffer.alloc(64, 1));
  for (let i = 0; i < 500 && (await offsetNow()) < 1; i++) await new Promise((r) => setTimeout(r, 10));
  const since = { offset: await offsetNow(), epoch: await redis.admin.hget(meta, 'epoch') };
  for (let i = 0; i < 100; i++) pub.send(Buffer.alloc(64, 2));
  for (let i = 0; i < 500 && (await offsetNow()) < since.offset + 100; i++) await new Promise((r) => setTimeout(r, 10));
  const clients = async (offset, missed) => {
    const child = spawnPinned(1, [join(BENCH, 'redis-clients.mjs'), '--port', String(b.port), '--clients', '1000', '--missed', String(missed), '--offset', String(offset), '--epoch', since.epoch], { cwd: ROOT });
    await child.exited;
    return JSON.parse(child.stdoutText.trim().split('\n').pop());
  };
  log('resume: 1,000 clients with 0 missed messages (the handshakes alone)');
  const none = await withCpu({ b: b.pid, redis: redis.child.pid }, () => clients(since.offset + 100, 0));
  log('resume: 1,000 clients with 100 missed messages each');
  const hundred = await withCpu({ b: b.pid, redis: redis.child.pid }, () => clients(since.offset, 100));
  out.resume = { none, hundred };
  log(JSON.stringify(out.resume));
  pub.terminate();
  for (const node of [h, b]) await stopChild(node.child);
}

redis.admin.disconnect();
redis.child.kill('SIGKILL');

// ------------------------------------------------------------------------------------------- report

const commit = (() => {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
})();
const redisVersion = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
const lines = [];
lines.push('# Redis benchmarks', '');
lines.push(`Generated by \`node bench/redis-bench.mjs${values.quick ? ' --quick' : ''}\` on ${new Date().toISOString()}, commit ${commit}.`);
lines.push(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${redisVersion.split(' ').slice(0, 3).join(' ')}; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')} (a shared machine: other jobs ran meanwhile, figures are noisy).`);
lines.push(`Receiving node pinned to core 0, generator (bench/gen/wsgen.c) to core 1, publishing node and redis-server not pinned. Windows of ${DURATION} ms after ${WARMUP} ms of warm-up; 64-byte binary messages; ioredis.`, '');
lines.push('## Publish-to-delivery latency across two processes through Redis', '');
lines.push('The generator publishes to node A at a fixed rate; node A publishes through Redis; node B (with every subscriber) fans out. Latency: from the generator\'s send to each subscriber\'s receipt.', '');
lines.push('| publishes/s | subscribers | deliveries/s | p50 ms | p99 ms | p99.9 ms | lost | node B CPU | node B run-queue wait | node A CPU | Redis CPU | generator CPU |');
lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const run of out.latency) {
  lines.push(
    `| ${run.rate} | ${run.subs} | ${Math.round(run.deliveriesPerSec)} | ${ms(run.p50us)} | ${ms(run.p99us)} | ${ms(run.p999us)} | ${run.lostDeliveries + run.publishesNotSent * run.subs} | ${pct(run.serverCpu)} | ${run.serverWait === undefined ? 'n/a' : pct(run.serverWait)} | ${pct(run.cpuA)} | ${pct(run.cpuRedis)} | ${pct(run.genCpu)} |`,
  );
}
lines.push('', '(lost: deliveries not made within the generator\'s window, plus publishes it could not send because its window was full, times the subscribers.)', '');
if (out.split) {
const { one, first, second } = out.split;
lines.push('## Deliveries/s, subscribers on one node or split over two', '');
lines.push('As fast as 64 publishes in flight allow. Split: two generators, each 500 subscribers on its own node and its own topic, publishing through nodes A1 and A2 (two generators, two publishing nodes and two receiving nodes share the same two cores).', '');
lines.push('| layout | deliveries/s | p99 ms | receiving node CPU | generator CPU |');
lines.push('| --- | ---: | ---: | --- | --- |');
lines.push(`| 1,000 subscribers on node B | ${Math.round(one.deliveriesPerSec)} | ${ms(one.p99us)} | ${pct(one.serverCpu)} | ${pct(one.genCpu)} |`);
lines.push(`| 500 on B + 500 on C | ${Math.round(first.deliveriesPerSec + second.deliveriesPerSec)} | ${ms(Math.max(first.p99us, second.p99us))} | ${pct(first.serverCpu)} + ${pct(second.serverCpu)} | ${pct(first.genCpu)} + ${pct(second.genCpu)} |`);
}
if (out.messages) {
const m = out.messages;
lines.push('', '## Redis messages per publish, 4 nodes of which 1 is interested', '');
lines.push(`${m.publishes} publishes on node A; node B has the topic's only subscriber, nodes A, C and D have subscribers on another topic only.`, '');
lines.push(`- PUBLISH commands Redis ran: ${m.publishCalls} (${(m.publishCalls / m.publishes).toFixed(2)} per publish; INFO commandstats)`);
lines.push(`- subscriber connections on the topic's channel: ${m.numsub} (PUBSUB NUMSUB), of ${m.pubsubClients} pub/sub connections: each publish goes out of Redis ${m.numsub} time(s), not ${m.pubsubClients}`);
lines.push(`- Redis output: ${(m.outBytes / m.publishes).toFixed(0)} bytes per publish (INFO total_net_output_bytes; the message to node B and the PUBLISH reply to node A)`);
lines.push(`- messages node B's subscriber got: ${m.received}`);
}
if (out.resume) {
const { none, hundred } = out.resume;
lines.push('', '## Resume: 1,000 clients at once', '');
lines.push('1,000 `ws` clients (one Node process on core 1) connect at once to node B, each subscribing to a history topic with `since`; "done" is when a client has its replayed messages and its \'recovery\' report.', '');
lines.push('| missed per client | all done ms | p50 ms | p99 ms | recovered | node B CPU | Redis CPU | clients CPU s |');
lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [missed, { result, cpu }] of [
  [0, none],
  [100, hundred],
]) {
  lines.push(`| ${missed} | ${result.allMs?.toFixed(0) ?? `incomplete (${result.complete})`} | ${result.p50Ms?.toFixed(0)} | ${result.p99Ms?.toFixed(0)} | ${result.recovered}/${result.clients} | ${pct(cpu.b)} | ${pct(cpu.redis)} | ${result.cpuSec.toFixed(2)} |`);
}
}
lines.push('');
writeFileSync(join(BENCH, 'RESULTS-redis.md'), `${lines.join('\n')}\n`);
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
