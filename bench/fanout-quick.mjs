// Quick fan-out measurement (not the full bench): 16 B messages to N local subscribers, deliveries/s of
//   rfc6455 wss.publish(topic)   vs   rfc6455 clients.forEach(send)   vs   ws clients.forEach(send)
// The subscribers are raw TCP sockets in a child process (the generator) that only count bytes, so that
// they cost little; the server runs here. Contenders interleave (A B C A B C ...); medians are printed
// with the server's and the generator's CPU time.
//   npm run build && node bench/fanout-quick.mjs [--subs 1000] [--messages 300] [--rounds 3]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runCountingSubscribers } from './lib/counting-subscribers.mjs';

const { values: opts } = parseArgs({
  options: {
    subs: { type: 'string', default: '1000' },
    messages: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    child: { type: 'boolean', default: false },
  },
});
const SUBS = Number(opts.subs);
const MESSAGES = Number(opts.messages);
const PAYLOAD = Buffer.alloc(16, 0x61);
const FRAME = 2 + PAYLOAD.length;

if (opts.child) runCountingSubscribers(SUBS);
else await runServer();

async function runServer() {
  const rfc = await import('../dist/esm/index.js');
  const ws = await import('ws');
  const contenders = [
    { name: 'rfc6455 wss.publish', make: () => new rfc.WebSocketServer({ port: 0, host: '127.0.0.1' }), topic: true },
    { name: 'rfc6455 clients.forEach(send)', make: () => new rfc.WebSocketServer({ port: 0, host: '127.0.0.1' }), topic: false },
    { name: 'ws clients.forEach(send)', make: () => new ws.WebSocketServer({ port: 0, host: '127.0.0.1' }), topic: false },
  ];
  const results = new Map(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < Number(opts.rounds); round++) {
    for (const contender of contenders) results.get(contender.name).push(await measure(contender));
  }
  console.log(`fan-out: ${SUBS} subscribers, ${MESSAGES} messages of ${PAYLOAD.length} B per run, ${opts.rounds} rounds (median)`);
  console.log(`node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs, ${new Date().toISOString()}`);
  const base = median(results.get('ws clients.forEach(send)').map((r) => r.rate));
  for (const [name, runs] of results) {
    const rate = median(runs.map((r) => r.rate));
    const serverCpu = median(runs.map((r) => r.serverCpuNs));
    const genCpu = median(runs.map((r) => r.generatorCpu));
    console.log(
      `${name.padEnd(32)} ${(rate / 1e6).toFixed(2).padStart(6)} M deliveries/s  ` +
        `server CPU ${serverCpu.toFixed(0).padStart(5)} ns/delivery  generator CPU ${genCpu.toFixed(0).padStart(5)} ms  ` +
        `x${(rate / base).toFixed(2)} vs ws`,
    );
  }
}

async function measure(contender) {
  const wss = contender.make();
  await once(wss, 'listening');
  if (contender.topic) wss.on('connection', (socket) => socket.subscribe('t'));
  const generator = fork(new URL(import.meta.url), ['--child', '--subs', String(SUBS)]);
  const next = (key) => new Promise((resolve) => generator.on('message', function on(m) {
    if (m[key] !== undefined) {
      generator.off('message', on);
      resolve(m);
    }
  }));
  const opened = next('open');
  generator.send({ connect: wss.address().port });
  await opened;
  const done = next('done');
  const deliveries = SUBS * MESSAGES;
  generator.send({ expect: deliveries * FRAME });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) {
    if (contender.topic) wss.publish('t', PAYLOAD);
    else for (const client of wss.clients) client.send(PAYLOAD);
    if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
  }
  const { cpu } = await done;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(cpu0);
  generator.send({ close: true });
  await once(generator, 'exit');
  for (const client of wss.clients) client.terminate();
  await new Promise((resolve) => wss.close(resolve));
  return {
    rate: deliveries / seconds,
    serverCpuNs: ((used.user + used.system) * 1000) / deliveries,
    generatorCpu: (cpu.user + cpu.system) / 1000,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
