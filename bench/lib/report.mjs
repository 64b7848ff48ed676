// Turns the measurements of a run into bench/RESULTS.md (tables per scenario group) and one SVG chart per group.
import { barChart } from './svg.mjs';

export const BASELINE = 'ws';

export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function compact(value, digits = 1) {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (abs >= 100) return value.toFixed(0);
  return value.toFixed(digits);
}

const percent = (value) => (Number.isFinite(value) ? `${Math.round(value * 100)}%` : '–');
const ratioText = (value) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');
const fixed = (value, digits, scale = 1) => (Number.isFinite(value) ? (value / scale).toFixed(digits) : '–');

/** The columns after a fan-out table's main figure: latency in ms from µs (the percentiles named), frames per read. */
const fanoutExtras = (percentiles) => [
  ...percentiles.map((p) => ({ header: `${p} ms`, key: `${p}us`, format: (v) => fixed(v, 2, 1000) })),
  { header: 'frames per read', key: 'framesPerRead', format: (v) => fixed(v, 1) },
];

/** What the fan-out tables share: deliveries/s, and per server CPU-second. */
const deliveries = {
  key: 'deliveriesPerSec',
  efficiencyKey: 'perServerCpuSec',
  unit: 'deliveries/s',
  shortUnit: '/s',
  better: 'Higher',
  format: (v) => compact(v),
};

/** Problems of one measurement that make its number doubtful (or absent). */
export function problemsOf(measurement) {
  const problems = [];
  const result = measurement.result;
  if (measurement.error) problems.push(measurement.error);
  if (measurement.serverExit && (measurement.serverExit.code ?? 0) !== 0 && measurement.serverExit.signal !== 'SIGTERM') {
    problems.push(`server exit ${measurement.serverExit.signal ?? measurement.serverExit.code}`);
  }
  if (measurement.serverStats?.dropped > 0) problems.push(`server dropped ${measurement.serverStats.dropped} echoes`);
  if (!result) return problems;
  if (!result.ok) {
    problems.push(result.error);
    return problems;
  }
  if (result.stalledConnections > 0) problems.push(`${result.stalledConnections} connections stalled`);
  if (result.wrongLength > 0) problems.push(`${result.wrongLength} echoes of the wrong length`);
  if (result.fragments > 0) problems.push(`${result.fragments} fragmented echoes`);
  if (result.closedEarly > 0) problems.push(`${result.closedEarly} connections closed during the run`);
  if (result.socketErrors > 0) problems.push(`${result.socketErrors} socket errors`);
  if (result.surplusEchoes > 0) problems.push(`${result.surplusEchoes} unexpected echoes`);
  if (result.errors > 0) problems.push(`${result.errors} failed handshakes (first: ${result.firstError})`);
  if (result.alive !== undefined && result.alive < result.conns) problems.push(`${result.conns - result.alive} idle connections dropped`);
  if (result.missedDeliveries > 0) problems.push(`${result.missedDeliveries} deliveries missed (a subscriber's sequence numbers skipped, or it had not got the last messages 5 s after the last publish)`);
  if (result.duplicateDeliveries > 0) problems.push(`${result.duplicateDeliveries} deliveries duplicated or out of order`);
  if (result.lostDeliveries > 0) problems.push(`${result.lostDeliveries} deliveries lost (not received within 10 s of the publish)`);
  if (result.publisherReceived > 0) problems.push(`the publisher received ${result.publisherReceived} messages`);
  if (result.unexpectedFrames > 0) problems.push(`${result.unexpectedFrames} unexpected frames (masked, or sent to an idle connection)`);
  // Time spent runnable but without a CPU (the C generator reads /proc/<pid>/schedstat, the main thread's):
  // another process held the core, or the server's own threads did (V8's GC helpers and libuv's pool are
  // pinned to the server's core with it, so a server that collects much garbage waits for itself).
  if (result.serverWait > 0.05 || result.genWait > 0.05) {
    problems.push(
      `waited for a CPU: server's main thread ${Math.round(result.serverWait * 100)}%, load generator ${Math.round(result.genWait * 100)}% of the window (the server's own helper threads share its core, or another process ran)`,
    );
  }
  if (result.messages === 0 || result.handshakes === 0 || result.deliveries === 0) problems.push('nothing completed');
  return problems;
}

/** Derived figures of a result (frames per read: the generator's deliveries per read syscall). */
function valueOf(result, key) {
  if (key === 'framesPerRead') return result.reads > 0 ? result.deliveries / result.reads : NaN;
  return result[key];
}

/** Per scenario and contender: the values of `key` over the rounds, with median, min and max. */
function summarize(run, scenario, contender, key) {
  const values = run.measurements
    .filter((m) => m.scenario === scenario.id && m.contender === contender.id && m.result?.ok)
    .map((m) => valueOf(m.result, key))
    .filter(Number.isFinite);
  return { values, median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

function cpuCell(run, scenario, contender, key) {
  const s = summarize(run, scenario, contender, key);
  if (s.values.length === 0) return '–';
  return s.values.length === 1 ? percent(s.median) : `${percent(s.median)} (max ${percent(s.max)})`;
}

function measurementsOf(run, scenario, contender) {
  return run.measurements.filter((m) => m.scenario === scenario.id && m.contender === contender.id);
}

/** The contenders measured in any of `scenarios` (a reference such as the net.Socket floor takes part in a few only). */
function taking(run, scenarios) {
  return run.contenders.filter((contender) => scenarios.some((scenario) => measurementsOf(run, scenario, contender).length > 0));
}

function flag(run, scenario, contender) {
  const bad = measurementsOf(run, scenario, contender).filter((m) => problemsOf(m).length > 0).length;
  return bad > 0 ? ` ⚠${bad}` : '';
}

/**
 * ⚑ when, in some round, the generator used more than 85% of its core while the server had time to spare (below
 * 95% of its core): then the generator may have held the server back. A generator busy next to a server at full
 * load is not the limit (in fan-out it reads as soon as anything arrives, so its CPU grows with the server's
 * speed while each read takes fewer frames). A server whose CPU is unknown counts as having time to spare.
 */
function generatorFlag(run, scenario, contender) {
  const limited = measurementsOf(run, scenario, contender)
    .filter((m) => m.result?.ok)
    .some((m) => (m.result.genCpu ?? 0) > 0.85 && !((m.result.serverCpu ?? 0) >= 0.95));
  return limited ? ' ⚑' : '';
}

/** Markdown table + chart for one group of scenarios measured by a single "higher/lower is better" metric. */
function metricSection(run, group, charts) {
  const scenarios = run.scenarios.filter((s) => s.group === group.id);
  if (scenarios.length === 0) return '';
  const contenders = taking(run, scenarios);
  const baseline = run.contenders.find((c) => c.id === (group.baseline ?? BASELINE));
  if (!baseline) return '';
  const baseLabel = baseline.label;
  const lines = [`## ${group.title}`, '', group.description, ''];
  lines.push(`![${group.title}](charts/${group.chart})`, '');
  const efficiencyHeader = group.efficiencyKey ? `${group.unit} per server CPU-second | vs ws | ` : '';
  const extras = group.extras ?? [];
  lines.push(
    `| Scenario | Contender | ${group.unit} (median) | min–max | ${extras.map((e) => `${e.header} | `).join('')}vs ${baseLabel} | ${efficiencyHeader.replace('vs ws', `vs ${baseLabel}`)}server CPU | load-gen CPU |`,
  );
  lines.push(`|---|---|--:|--:|${'--:|'.repeat(extras.length)}--:|${group.efficiencyKey ? '--:|--:|' : ''}--:|--:|`);
  const chartGroups = [];
  for (const scenario of scenarios) {
    const base = summarize(run, scenario, baseline, group.key).median;
    const baseEfficiency = group.efficiencyKey ? summarize(run, scenario, baseline, group.efficiencyKey).median : NaN;
    const bars = [];
    for (const contender of contenders) {
      const s = summarize(run, scenario, contender, group.key);
      const ratio = s.median / base;
      const extra = extras.map((e) => `${e.format(summarize(run, scenario, contender, e.key).median)} | `).join('');
      let efficiencyCells = '';
      if (group.efficiencyKey) {
        const efficiency = summarize(run, scenario, contender, group.efficiencyKey).median;
        efficiencyCells = `${group.format(efficiency)} | ${ratioText(efficiency / baseEfficiency)} | `;
      }
      lines.push(
        `| ${scenario.title} | ${contender.label}${flag(run, scenario, contender)} | ${group.format(s.median)} | ${
          s.values.length > 1 ? `${group.format(s.min)}–${group.format(s.max)}` : '–'
        } | ${extra}${ratioText(ratio)} | ${efficiencyCells}${cpuCell(run, scenario, contender, 'serverCpu')} | ${cpuCell(run, scenario, contender, 'genCpu')}${generatorFlag(run, scenario, contender)} |`,
      );
      bars.push(
        s.values.length === 0
          ? null
          : { value: ratio, min: s.min / base, max: s.max / base, text: `${ratioText(ratio)} · ${group.format(s.median)} ${group.shortUnit}` },
      );
    }
    chartGroups.push({ label: scenario.short, bars });
  }
  charts.push({
    file: group.chart,
    svg: barChart({
      title: group.title,
      subtitle: `Median of ${run.rounds} round(s) relative to ${baseLabel} (= 1, dashed); whiskers: min–max. ${group.better} is better.`,
      axisLabel: `ratio to ${baseLabel} (${group.better.toLowerCase()} is better)`,
      baseline: 1,
      series: contenders.map((c) => ({ name: c.label, color: c.color })),
      groups: chartGroups,
    }),
  });
  if (group.efficiencyKey) {
    const efficiencyChart = group.chart.replace('.svg', '-per-cpu.svg');
    lines.push('', `![${group.title} per server CPU-second](charts/${efficiencyChart})`);
    charts.push({
      file: efficiencyChart,
      svg: barChart({
        title: `${group.title}, per second of server CPU`,
        subtitle: `${group.unit} divided by the CPU time the server got; median of ${run.rounds} round(s) relative to ${baseLabel} (= 1, dashed). ${group.better} is better.`,
        axisLabel: `ratio to ${baseLabel} (${group.better.toLowerCase()} is better)`,
        baseline: 1,
        series: contenders.map((c) => ({ name: c.label, color: c.color })),
        groups: scenarios.map((scenario) => {
          const base = summarize(run, scenario, baseline, group.efficiencyKey).median;
          return {
            label: scenario.short,
            bars: contenders.map((contender) => {
              const s = summarize(run, scenario, contender, group.efficiencyKey);
              if (s.values.length === 0) return null;
              return { value: s.median / base, min: s.min / base, max: s.max / base, text: `${ratioText(s.median / base)} · ${group.format(s.median)}` };
            }),
          };
        }),
      }),
    });
  }
  if (group.footer) lines.push('', group.footer(run, scenarios));
  lines.push('');
  return lines.join('\n');
}

/** Latency: one scenario, three percentiles. */
function latencySection(run, charts) {
  const scenario = run.scenarios.find((s) => s.group === 'latency');
  if (!scenario) return '';
  const contenders = taking(run, [scenario]);
  const baseline = run.contenders.find((c) => c.id === BASELINE);
  const keys = [
    ['p50us', 'p50'],
    ['p99us', 'p99'],
    ['p999us', 'p99.9'],
  ];
  const lines = [
    '## Round-trip latency',
    '',
    `${scenario.title}: one connection, one message in flight; each sample is the time from sending a frame to receiving its whole echo, in µs (lower is better). p-values are medians over the rounds, the range is min–max of p99.`,
    '',
    '![Round-trip latency](charts/latency.svg)',
    '',
    '| Contender | p50 µs | p99 µs | p99.9 µs | p99 min–max | round trips/s | p50 vs ws | p99 vs ws | server CPU | load-gen CPU |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const chartGroups = keys.map(([, label]) => ({ label, bars: [] }));
  const base = Object.fromEntries(keys.map(([key]) => [key, summarize(run, scenario, baseline, key).median]));
  for (const contender of contenders) {
    const s = Object.fromEntries(keys.map(([key]) => [key, summarize(run, scenario, contender, key)]));
    const rate = summarize(run, scenario, contender, 'msgsPerSec').median;
    lines.push(
      `| ${contender.label}${flag(run, scenario, contender)} | ${compact(s.p50us.median)} | ${compact(s.p99us.median)} | ${compact(s.p999us.median)} | ${
        s.p99us.values.length > 1 ? `${compact(s.p99us.min)}–${compact(s.p99us.max)}` : '–'
      } | ${compact(rate)} | ${ratioText(s.p50us.median / base.p50us)} | ${ratioText(s.p99us.median / base.p99us)} | ${cpuCell(
        run,
        scenario,
        contender,
        'serverCpu',
      )} | ${cpuCell(run, scenario, contender, 'genCpu')}${generatorFlag(run, scenario, contender)} |`,
    );
    keys.forEach(([key], k) => {
      const v = s[key];
      chartGroups[k].bars.push(
        v.values.length === 0
          ? null
          : { value: v.median / base[key], min: v.min / base[key], max: v.max / base[key], text: `${ratioText(v.median / base[key])} · ${compact(v.median)} µs` },
      );
    });
  }
  charts.push({
    file: 'latency.svg',
    svg: barChart({
      title: 'Round-trip latency, 16 B, 1 connection × 1 in flight',
      subtitle: `Median of ${run.rounds} round(s) relative to ws + bufferutil (= 1, dashed); whiskers: min–max. Lower is better.`,
      axisLabel: 'ratio to ws + bufferutil (lower is better)',
      baseline: 1,
      series: contenders.map((c) => ({ name: c.label, color: c.color })),
      groups: chartGroups,
    }),
  });
  lines.push('');
  return lines.join('\n');
}

const GROUPS = [
  {
    id: 'throughput',
    title: 'Echo throughput',
    description:
      'Echoed messages per second: N connections, W messages in flight on each (N×W); every echo received is answered with the next pre-built masked frame. MB/s counts payload bytes echoed (one direction).',
    chart: 'throughput.svg',
    key: 'msgsPerSec',
    efficiencyKey: 'perServerCpuSec',
    unit: 'msg/s',
    shortUnit: 'msg/s',
    better: 'Higher',
    format: (v) => compact(v),
    extras: [{ header: 'MB/s', key: 'mbPerSec', format: (v) => compact(v) }],
  },
  {
    id: 'handshake',
    title: 'Handshakes per second',
    description:
      'Complete connection cycles per second: TCP connect, HTTP upgrade (the 101 and its Sec-WebSocket-Accept are checked), a close frame each way, TCP close; C cycles run concurrently.',
    chart: 'handshakes.svg',
    key: 'perSec',
    efficiencyKey: 'perServerCpuSec',
    unit: 'handshakes/s',
    shortUnit: '/s',
    better: 'Higher',
    format: (v) => compact(v),
  },
  {
    id: 'memory',
    title: 'Server memory per idle connection',
    description:
      "Growth of the server's RSS (VmRSS in /proc/<pid>/status) from before opening the connections to a settle time after the last one opened (2 s; 1 s in quick mode), divided by their number; the connections are open and idle. RSS includes garbage not yet collected. The server first serves and drops 200 connections so that lazily loaded code is not counted. \"opened/s\" is how fast the generator got them all open (128 handshakes at a time).",
    chart: 'memory.svg',
    key: 'bytesPerConn',
    unit: 'KiB/conn',
    shortUnit: 'KiB/conn',
    better: 'Lower',
    format: (v) => fixed(v, 2, 1024),
    extras: [{ header: 'opened/s', key: 'opensPerSec', format: (v) => compact(v) }],
  },
  {
    id: 'fanout',
    title: 'Fan-out (publish to one topic)',
    description:
      'S subscriber connections (path /sub) that only read, one publisher connection (/pub) whose every message the server sends to all subscribers: rfc6455 with `wss.publish` and with `wss.clients.forEach(send)`, ws with `forEach(send)`, uWebSockets.js with `app.publish`, Bun with `server.publish`. Deliveries/s counts the frames the subscribers received. The publisher keeps 32 messages in flight (a message is done when every subscriber has it), or publishes at a fixed rate where the title says so. Each payload carries its send time and a sequence number; the generator checks that every subscriber gets every message once and in order (missed and duplicated deliveries are listed under Problems seen; after the window it stops publishing and waits for the messages still in flight, so the count covers the whole run). Latency: the p50/p99 columns are publish-to-delivery over all deliveries (histogram, < 1% error), the delivery time being when the generator read the frame. At full speed the generator reads each subscriber as soon as epoll reports it, and a read takes every frame waiting there (up to the window\'s worth); with 8 in flight the fastest servers waited for the generator at 10,000 subscribers, with 32 none does (each server\'s CPU column). The latency columns are therefore queueing under load (the window\'s messages ahead of each one), not a server\'s response time. In the 100 publishes/s scenario each frame is read as soon as epoll reports it, so its latency is exact to the histogram\'s 1%.',
    chart: 'fanout.svg',
    ...deliveries,
    extras: fanoutExtras(['p50', 'p99']),
  },
  {
    id: 'cluster',
    baseline: 'rfc6455-w1',
    title: 'Fan-out over 2 workers vs 1 (runWorkers)',
    description:
      'The fan-out scenario (one topic, the publisher keeping 32 messages in flight, 16 B) against rfc6455 run through `runWorkers` (bench/servers/rfc6455-cluster-fanout.mjs): 1 worker, or 2 workers whose subscribers get the publisher\'s messages through the cluster primary\'s relay (the publisher is in one worker, the others\' subscribers are reached over IPC). The issue\'s target is 2 workers ≥ 1.6× 1 worker. **Bound:** the machine has 2 cores and the generator needs one too, so here the server\'s processes (primary and workers) and the generator all may run on cores 0 and 1 (`taskset -c 0,1`): with 2 workers the server cannot have two cores to itself, and the deliveries/s ratio is bounded by what the generator leaves. The "per server CPU-second" columns divide by the CPU all the server\'s processes (primary included) got, which is the fairer figure here: it shows what a second worker costs in relaying. The subscribers per worker of each round are listed below the table (on Node 20 the primary hands connections out; a busy worker takes fewer).',
    chart: 'workers.svg',
    ...deliveries,
    extras: fanoutExtras(['p50']),
    footer: (run, scenarios) =>
      scenarios
        .map((scenario) => {
          const spreads = run.measurements
            .filter((m) => m.scenario === scenario.id && m.serverStats?.workers)
            .map((m) => `round ${m.round} ${run.contenders.find((c) => c.id === m.contender)?.label}: ${m.serverStats.workers.map((w) => w.subscribers).join(' / ')}`);
          return `Subscribers per worker, ${scenario.title}: ${spreads.join('; ') || '–'}.`;
        })
        .join('\n\n'),
  },
];

export function renderReport(run) {
  const charts = [];
  const meta = run.meta;
  const lines = [
    '# Benchmarks: rfc6455 side by side with ws, uWebSockets.js and Bun',
    '',
    `Generated by \`${run.mode === 'quick' ? 'npm run bench:quick' : 'npm run bench'}\` (bench/run.mjs). Mode: **${run.mode}**, ${run.rounds} round(s), each measurement ${
      run.timing.warmupMs / 1000
    } s warm-up + ${run.timing.durationMs / 1000} s measured.`,
    '',
    '| | |',
    '|---|---|',
    `| Date | ${meta.date} (run took ${Math.round(meta.elapsedSeconds)} s) |`,
    `| Machine | ${meta.cpuModel}, ${meta.cores} cores, ${meta.memoryGiB} GiB, Linux ${meta.kernel} |`,
    `| Pinning | every server on core 0 (\`taskset -c 0\`), the load generator on core 1 (\`taskset -c 1\`)${
      run.scenarios.some((s) => s.group === 'cluster') ? '; in "2 workers vs 1" the server\'s processes and the generator all on cores 0-1 (`taskset -c 0,1`)' : ''
    } |`,
    `| Node | ${meta.node} |`,
    `| Commit | ${meta.commit}${meta.dirty ? ' (with uncommitted changes in src/)' : ''}; dist/ built ${meta.distBuilt} |`,
    `| Packages | ws ${meta.versions.ws}, bufferutil ${meta.versions.bufferutil}, utf-8-validate ${meta.versions['utf-8-validate']}, uWebSockets.js ${meta.versions.uws}${
      run.contenders.some((c) => c.id === 'bun' && c.version) ? `, Bun ${run.contenders.find((c) => c.id === 'bun').version}` : ''
    } |`,
    `| Load generator | ${meta.generator === 'node' ? 'bench/load.mjs (Node, `--gen node`)' : 'bench/gen/wsgen.c (C, epoll, one thread; built with gcc -O2 into bench/.cache/)'} |`,
    `| Load average | ${meta.loadStart.map((v) => v.toFixed(2)).join(' / ')} at the start, ${meta.loadEnd.map((v) => v.toFixed(2)).join(' / ')} at the end (1/5/15 min) |`,
    `| Open files | hard limit ${meta.openFilesLimit}; ephemeral ports ${meta.ephemeralPorts} |`,
    '',
  ];
  if (meta.note) lines.push(`> ${meta.note}`, '');
  lines.push('The performance targets, where each stands, and what bounds the ones not met: [TARGETS.md](TARGETS.md) (written by hand).', '');
  lines.push(
    'Ratios are medians divided by the median of `ws` with bufferutil. ⚠n: n measurements of that cell had a problem (listed at the end). ⚑: in some round the load generator used more than 85% of its core while the server used less than 95% of its own, so that cell may be limited by the generator rather than the server (a busy generator next to a server at full load is not the limit). CPU columns are the fraction of one core used during the measured window (median over rounds, and the maximum); the server figure covers all its threads. "Per server CPU-second" divides the count by the CPU time the server actually got: when the server is below ~95% of its core, something else (another process, or the generator) held it back, and that column is the fairer comparison.',
    '',
  );

  lines.push('## Contenders', '', '| Contender | Server | Native addons mapped in the server process (/proc/pid/maps) | Notes |', '|---|---|---|---|');
  for (const contender of run.contenders) {
    const native = contender.native === undefined ? '(not started)' : contender.native.length === 0 ? 'none' : contender.native.map((p) => `\`${p}\``).join('<br>');
    const commands = [contender.commandLine, contender.fanoutCommandLine, contender.clusterCommandLine].filter(Boolean).map((c) => `\`${c}\``);
    lines.push(`| ${contender.label} | ${commands.join('<br>') || '(not started)'} | ${native} | ${contender.notes ?? ''} |`);
  }
  lines.push('');

  lines.push(metricSection(run, GROUPS[0], charts));
  lines.push(latencySection(run, charts));
  lines.push(metricSection(run, GROUPS[1], charts));
  lines.push(metricSection(run, GROUPS[2], charts));
  lines.push(metricSection(run, GROUPS[3], charts));
  lines.push(metricSection(run, GROUPS[4], charts));

  const problems = [];
  for (const m of run.measurements) {
    const list = problemsOf(m);
    if (list.length > 0) {
      const scenario = run.scenarios.find((s) => s.id === m.scenario);
      const contender = run.contenders.find((c) => c.id === m.contender);
      problems.push(`- round ${m.round}, ${scenario.title}, ${contender.label}: ${list.join('; ')}`);
    }
  }
  lines.push('## Problems seen', '', problems.length ? problems.join('\n') : 'None: every measurement completed with all connections progressing, every echo of the right length, no socket errors.', '');

  lines.push(
    '## Method',
    '',
    '- Each contender is an echo server in its own process, started the same way (`bash -c "ulimit -n <hard>; exec taskset -c 0 node …"`), fresh for every measurement, and stopped (SIGTERM, then SIGKILL) after it. The run checks the CPU list of every server process and the native addons mapped into it.',
    '- Contenders are interleaved: for each round, for each scenario, A B C D in the order of the tables; the run reports medians with min–max over the rounds.',
    meta.generator === 'node'
      ? '- The load generator (bench/load.mjs, one process per measurement on core 1) is a raw `node:net` client: it does the HTTP upgrade itself, sends frames masked once at start-up (reused for every send, one write per batch of echoes), and counts echoed frames by parsing only their headers (lengths, FIN, opcode); server frames are not masked, so nothing is unmasked. It reports its own CPU (`process.cpuUsage()` over wall time) next to every figure, and the server\'s CPU from /proc/<pid>/stat.'
      : '- The load generator (bench/gen/wsgen.c, built by the run with gcc -O2; one process per measurement on core 1) is a single-threaded epoll client in C: it does the HTTP upgrade itself (checking the 101 and its Sec-WebSocket-Accept), sends frames masked once at start-up (reused for every send, one write per batch of echoes), and walks server frames by their headers only (lengths, FIN, opcode). Latencies go into a log-linear histogram (< 1% error). Its CPU is almost all kernel time (genSys in the raw data): on loopback a send runs the receiving side\'s TCP processing. It reports its own CPU (getrusage over wall time) next to every figure, and the server\'s CPU from /proc/<pid>/stat (summed over the primary and the workers for a multi-process server). What keeps it below its core: one epoll_wait takes up to 4,096 ready sockets, fan-out subscribers edge-triggered, each read taking every frame that waits; echoes of 16 KiB and more read a frame\'s first 22 bytes and drop the rest of the payload in the kernel (recv with MSG_TRUNC) instead of copying it out; connection cycles send the upgrade request right after connect() and let the server close TCP first (RFC 6455 section 7.1.1), so the TIME_WAIT sockets are the server\'s.',
    '- Every measurement is a warm-up (not counted) followed by a fixed measured window; every loop in the generator is bounded in time and count, and each generator has a hard deadline.',
    "- The C generator also reads both processes' run-queue wait (/proc/<pid>/schedstat): a measurement where the server or the generator waited more than 5% of the window for its core, because other processes held it, is listed under Problems seen.",
    '- A throughput cell is flagged when a connection made no progress in the window, an echo had the wrong length, or a socket failed; the uWebSockets.js server also counts sends it reports as dropped.',
    '',
  );
  return { markdown: `${lines.join('\n')}\n`, charts };
}
