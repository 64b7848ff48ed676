// Heap snapshots of idle connections, grouped by constructor: a server (the net.Socket floor, `ws`, or an
// rfc6455 build's `serve --echo`) is started with --heapsnapshot-signal, the C generator opens N idle
// connections to it and holds them, the server writes a snapshot, and the self sizes of its objects are
// summed per constructor (per node type for non-objects) and divided by N. Printed next to the floor's.
//   node bench/heap-by-constructor.mjs [--conns 10000] [--build base=/tmp/base] [--build branch=.] [--top 30]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { abServers, loopbackPort, serverReady } from './lib/ab-servers.mjs';
import { ensureGenerator } from './lib/generator.mjs';

const benchDir = new URL('.', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    conns: { type: 'string', default: '10000' },
    build: { type: 'string', multiple: true, default: [] },
    top: { type: 'string', default: '30' },
    'no-ws': { type: 'boolean', default: false },
  },
});
const conns = Number(values.conns);
const generator = ensureGenerator(benchDir);

const servers = abServers(benchDir, values.build, { ws: !values['no-ws'] });

/** Self sizes per constructor (objects) or per node type (everything else) of one snapshot file. */
function groupSnapshot(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const nodes = snap.nodes;
  const strings = snap.strings;
  const groups = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const size = nodes[i + sizeAt];
    total += size;
    const key = type === 'object' || type === 'closure' ? `${type === 'closure' ? 'closure ' : ''}${strings[nodes[i + nameAt]]}` : `(${type})`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { size, count: 1 });
    else {
      g.size += size;
      g.count++;
    }
  }
  return { groups, total };
}

const results = [];
for (const server of servers) {
  const dir = mkdtempSync(join(tmpdir(), 'heap-'));
  const port = await loopbackPort();
  // A preload that prints V8's heap spaces (size committed, bytes used) on SIGWINCH, before the snapshot's GC.
  const preload = join(dir, 'spaces.cjs');
  writeFileSync(
    preload,
    "process.on('SIGWINCH', () => process.stderr.write('SPACES ' + JSON.stringify(require('v8').getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size, s.space_used_size])) + '\\n'));\n",
  );
  const child = spawn('taskset', ['-c', '0', process.execPath, '-r', preload, `--heapsnapshot-signal=SIGUSR2`, `--diagnostic-dir=${dir}`, ...server.args, '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dir,
  });
  let spaces = null;
  let errText = '';
  child.stderr.on('data', (chunk) => {
    errText += chunk;
    const m = /SPACES (.*)\n/.exec(errText);
    if (m !== null && spaces === null) spaces = JSON.parse(m[1]);
  });
  await serverReady(child, server);
  // The generator opens the connections and holds them for --settle ms; the snapshot is taken meanwhile.
  const gen = spawn('taskset', ['-c', '1', generator, '--scenario', 'idle', '--port', String(port), '--conns', String(conns), '--settle', '60000', '--server-pid', String(child.pid)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let genOut = '';
  gen.stdout.on('data', (c) => (genOut += c));
  // Wait until the server holds the connections (its RSS stops growing), then snapshot.
  let last = 0;
  let steady = 0;
  for (let i = 0; i < 120 && steady < 3; i++) {
    await sleep(500);
    const rss = Number(readFileSync(`/proc/${child.pid}/statm`, 'utf8').split(' ')[1]);
    steady = i > 4 && rss === last ? steady + 1 : 0;
    last = rss;
  }
  child.kill('SIGWINCH');
  await sleep(300);
  child.kill('SIGUSR2');
  let file;
  for (let i = 0; i < 240; i++) {
    await sleep(500);
    const found = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot'));
    if (found === undefined) continue;
    const size = statSync(join(dir, found)).size;
    await sleep(1000);
    if (statSync(join(dir, found)).size === size && size > 0) {
      file = join(dir, found);
      break;
    }
  }
  gen.kill('SIGTERM');
  child.kill('SIGTERM');
  await new Promise((ok) => gen.once('exit', ok));
  if (file === undefined) throw new Error(`${server.name}: no snapshot`);
  const grouped = groupSnapshot(file);
  results.push({ name: server.name, ...grouped, spaces });
  const rss = (last * 4096) / 1024 / 1024;
  process.stderr.write(`${server.name}: heap ${(grouped.total / conns).toFixed(0)} B per connection; RSS ${rss.toFixed(1)} MiB; spaces (MiB size/used): ${(spaces ?? []).map(([n, size, used]) => `${n} ${(size / 1048576).toFixed(1)}/${(used / 1048576).toFixed(1)}`).join(', ')}\n`);
  rmSync(dir, { recursive: true, force: true });
}

// The constructors whose bytes per connection differ most from the floor's, per server.
const floor = results[0];
const keys = new Set();
for (const r of results) for (const k of r.groups.keys()) keys.add(k);
const rows = [...keys].map((k) => ({ k, per: results.map((r) => (r.groups.get(k)?.size ?? 0) / conns), counts: results.map((r) => (r.groups.get(k)?.count ?? 0) / conns) }));
rows.sort((a, b) => Math.max(...b.per.map((v) => Math.abs(v))) - Math.max(...a.per.map((v) => Math.abs(v))));
console.log(`| constructor | ${results.map((r) => r.name).join(' | ')} |`);
console.log(`|---|${results.map(() => '--:').join('|')}|`);
for (const row of rows.slice(0, Number(values.top))) {
  console.log(`| ${row.k} | ${row.per.map((v, i) => `${v.toFixed(0)} (${row.counts[i].toFixed(2)})`).join(' | ')} |`);
}
console.log(`| all of the heap | ${results.map((r) => (r.total / conns).toFixed(0)).join(' | ')} |`);
void floor;
