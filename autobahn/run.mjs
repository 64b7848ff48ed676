#!/usr/bin/env node
// The Autobahn|Testsuite conformance runner (`npm run autobahn`). See autobahn/README.md.
//
//   node autobahn/run.mjs [--server] [--client] [--cases 1.*,2.*] [--target rfc6455|ws]
//                         [--allow-unimplemented] [--timeout MINUTES]
//
// Server side: our echo server under wstest's fuzzingclient. Client side: our client, driven by
// client-driver.mjs, under wstest's fuzzingserver. Both sides by default, side by side.
// Exits non-zero on any FAILED or NON-STRICT case (and UNIMPLEMENTED unless allowed); the last
// line of output is `N passed, N failed`.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installExitHandlers, portAnswers, quickOutput, runToEnd, startChild, waitForPort } from './children.mjs';
import { readSide, renderMarkdown, renderText, summarizeSide } from './report.mjs';
import { prepareWstest } from './wstest.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const TARGETS = ['rfc6455', 'ws'];
const USAGE = `usage: node autobahn/run.mjs [--server] [--client] [--cases 1.*,2.*] [--target rfc6455|ws]
                             [--allow-unimplemented] [--timeout MINUTES]
                             [--server-port N] [--client-port N]
  --server               test the server side only (default: both sides, side by side)
  --client               test the client side only
  --cases LIST           comma-separated case patterns (default: every case)
  --target NAME          rfc6455 (default) or ws (the baseline)
  --allow-unimplemented  UNIMPLEMENTED cases do not fail the run (counted as skipped)
  --timeout MINUTES      limit for each side (default 30, or env AUTOBAHN_TIMEOUT_MINUTES)
  --server-port N        port of the server under test (default: from fuzzingclient.json, 9001)
  --client-port N        port of wstest's fuzzingserver (default: from fuzzingserver.json, 9002)`;

function say(message) {
  console.log(`autobahn: ${message}`);
}

function usageError(message) {
  console.error(`autobahn: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseCli() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        server: { type: 'boolean', default: false },
        client: { type: 'boolean', default: false },
        cases: { type: 'string' },
        target: { type: 'string', default: 'rfc6455' },
        'allow-unimplemented': { type: 'boolean', default: false },
        timeout: { type: 'string', default: process.env.AUTOBAHN_TIMEOUT_MINUTES || '30' },
        'server-port': { type: 'string' },
        'client-port': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    usageError(error.message);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!TARGETS.includes(v.target)) usageError(`unknown target ${v.target}`);
  const timeoutMinutes = Number(v.timeout);
  if (!(timeoutMinutes > 0)) usageError(`bad --timeout ${v.timeout}`);
  const cases = v.cases?.split(',').map((c) => c.trim()).filter(Boolean);
  if (v.cases !== undefined && !cases.length) usageError('--cases needs at least one pattern');
  const port = (name) => {
    if (v[name] === undefined) return null;
    const n = Number(v[name]);
    if (!Number.isInteger(n) || n < 1 || n > 65535) usageError(`bad --${name} ${v[name]}`);
    return n;
  };
  const both = !v.server && !v.client;
  return {
    server: both || v.server,
    client: both || v.client,
    cases: cases ?? null,
    target: v.target,
    allowUnimplemented: v['allow-unimplemented'],
    timeoutMs: timeoutMinutes * 60_000,
    serverPort: port('server-port'),
    clientPort: port('client-port'),
  };
}

// --- Build (target rfc6455 runs dist/, built from src/ by `npm run build`).

function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) => filesUnder(join(path, entry.name)));
}

function buildIsStale() {
  const needed = ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/cjs/api/cli.js'].map((p) => join(ROOT, p));
  if (!needed.every((p) => existsSync(p))) return 'dist/ is missing';
  const inputs = ['src', 'scripts/build.mjs', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.cjs.json'];
  const newestInput = Math.max(...inputs.flatMap((p) => filesUnder(join(ROOT, p))).map((f) => statSync(f).mtimeMs));
  const oldestOutput = Math.min(...filesUnder(join(ROOT, 'dist')).map((f) => statSync(f).mtimeMs));
  return newestInput > oldestOutput ? 'dist/ is older than src/' : null;
}

async function ensureBuild(reportsDir) {
  const stale = buildIsStale();
  if (!stale) return;
  say(`building (${stale}): npm run build`);
  const logFile = join(reportsDir, 'build.log');
  writeFileSync(logFile, '');
  const started = Date.now();
  const { code, signal, error } = await runToEnd('npm run build', 'npm', ['run', 'build'], { cwd: ROOT, logFile });
  if (code !== 0) {
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    throw new Error(`npm run build failed (${error ? error.message : `code ${code}, signal ${signal}`}):\n${tail}`);
  }
  say(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// --- One side of the run.

/** Where a side's reports go: the spec's outdir for rfc6455, reports/ws/<side> for the baseline. */
function outdirFor(specOutdir, target) {
  const base = resolve(ROOT, specOutdir);
  return target === 'rfc6455' ? base : join(dirname(base), target, relative(dirname(base), base));
}

function readSpec(name) {
  return JSON.parse(readFileSync(join(HERE, name), 'utf8'));
}

/** The spec's URL, with its port replaced when one was given on the command line. */
function urlWithPort(specUrl, port) {
  const url = new URL(specUrl);
  if (port !== null) url.port = String(port);
  return url;
}

/** The spec copy wstest reads: report dir, agent and (with --cases) the case list adjusted. */
function writeSpecCopy(outdir, spec) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const file = join(outdir, 'spec.json');
  writeFileSync(file, `${JSON.stringify(spec, null, 2)}\n`);
  return file;
}

function elapsed(since) {
  const s = Math.round((Date.now() - since) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * Watches wstest's output: the announced case count and, as cases run, one progress line per
 * section. Returns { state, onLine }.
 */
function wstestWatcher(label, started) {
  const state = { expected: null, done: 0, lastSection: null, connectFailure: null };
  const onLine = (line) => {
    let m = /Ok, will run (\d+) test cases/.exec(line);
    if (m) {
      state.expected = Number(m[1]);
      return;
    }
    m = /Running test case ID (\S+)/.exec(line);
    if (m) {
      state.done++;
      const section = m[1].split('.')[0];
      if (section !== state.lastSection) {
        state.lastSection = section;
        say(`[${label}] section ${section}: case ${state.done}/${state.expected ?? '?'} (${m[1]}), ${elapsed(started)}`);
      }
      return;
    }
    if (/^Connection to .* failed/.test(line)) state.connectFailure = line.trim();
  };
  return { state, onLine };
}

function exitText({ code, signal, error }) {
  return error ? error.message : signal ? `signal ${signal}` : `code ${code}`;
}

function abortable(signal) {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
}

/** Runs one side with a deadline; always stops its children. Returns the readSide() input. */
async function runSide(side, options, wstest) {
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  const children = [];
  const run = { side, agent: options.target, outdir: null, expected: null, error: null, wallSeconds: null };
  try {
    const body = side === 'server' ? serverSide : clientSide;
    await body({ options, wstest, run, children, signal: controller.signal, started });
  } catch (error) {
    run.error ??= error.message;
  } finally {
    clearTimeout(timer);
    await Promise.all(children.map((child) => child.stop()));
    run.wallSeconds = (Date.now() - started) / 1000;
  }
  return run;
}

async function assertPortFree(port, host) {
  if (await portAnswers(port, host)) {
    throw new Error(`${host}:${port} is already in use by another process; stop it first`);
  }
}

async function serverSide({ options, wstest, run, children, signal, started }) {
  const spec = readSpec('fuzzingclient.json');
  const url = urlWithPort(spec.servers[0].url, options.serverPort);
  const port = Number(url.port);
  const host = url.hostname;
  run.outdir = outdirFor(spec.outdir, options.target);
  const specFile = writeSpecCopy(run.outdir, {
    ...spec,
    outdir: run.outdir,
    servers: [{ ...spec.servers[0], agent: options.target, url: url.href.replace(/\/$/, '') }],
    ...(options.cases ? { cases: options.cases } : {}),
  });
  await assertPortFree(port, host);

  const serverArgs =
    options.target === 'ws'
      ? [join(HERE, 'ws-echo-server.mjs'), '--port', String(port), '--host', host]
      : [join(ROOT, 'bin', 'rfc6455.cjs'), 'serve', '--echo', '--port', String(port), '--host', host];
  say(`[server] starting the ${options.target} echo server on ${host}:${port}`);
  const server = startChild('server under test', process.execPath, serverArgs, {
    cwd: ROOT,
    logFile: join(run.outdir, 'server-under-test.log'),
  });
  children.push(server);
  await waitForPort(port, host, { timeoutMs: 30_000, child: server, signal });

  const watcher = wstestWatcher('server', started);
  const { command, args, env, extraCleanup } = wstest.spawnArgs('fuzzingclient', ['-m', 'fuzzingclient', '-s', specFile]);
  const tester = startChild('wstest fuzzingclient', command, args, {
    cwd: ROOT,
    env,
    logFile: join(run.outdir, 'wstest.log'),
    onLine: watcher.onLine,
    extraCleanup,
  });
  children.push(tester);
  const outcome = await Promise.race([tester.exited, abortable(signal)]);
  run.expected = watcher.state.expected;
  if (outcome === 'aborted') {
    run.error = `timed out after ${options.timeoutMs / 60_000} min (partial report)`;
    // With its peer gone, fuzzingclient writes the report of the cases run so far and exits.
    await server.stop();
    const grace = new Promise((resolve) => setTimeout(resolve, 30_000).unref());
    await Promise.race([tester.exited, grace]);
    return;
  }
  if (outcome.code !== 0) run.error = `wstest fuzzingclient failed (${exitText(outcome)}); see ${join(run.outdir, 'wstest.log')}`;
  if (!server.running) {
    run.error ??= `the server under test exited during the run (${exitText(server.exitInfo)}); see ${join(run.outdir, 'server-under-test.log')}`;
  }
  if (watcher.state.connectFailure) run.error ??= `wstest stopped early: ${watcher.state.connectFailure}`;
}

async function clientSide({ options, wstest, run, children, signal, started }) {
  const spec = readSpec('fuzzingserver.json');
  const url = urlWithPort(spec.url, options.clientPort);
  const wsUrl = url.href.replace(/\/$/, '');
  const port = Number(url.port);
  const host = url.hostname;
  run.outdir = outdirFor(spec.outdir, options.target);
  const specFile = writeSpecCopy(run.outdir, {
    ...spec,
    outdir: run.outdir,
    url: wsUrl,
    ...(options.cases ? { cases: options.cases } : {}),
  });
  await assertPortFree(port, host);

  say(`[client] starting wstest fuzzingserver on ${host}:${port}`);
  const watcher = wstestWatcher('client', started);
  const { command, args, env, extraCleanup } = wstest.spawnArgs('fuzzingserver', [
    '-m',
    'fuzzingserver',
    '-s',
    specFile,
    '--webport',
    '0',
  ]);
  const tester = startChild('wstest fuzzingserver', command, args, {
    cwd: ROOT,
    env,
    logFile: join(run.outdir, 'wstest.log'),
    onLine: watcher.onLine,
    extraCleanup,
  });
  children.push(tester);
  await waitForPort(port, host, { timeoutMs: 60_000, child: tester, signal });

  const driverLog = join(run.outdir, 'client-driver.log');
  const driverArgs = [join(HERE, 'client-driver.mjs'), '--url', wsUrl, '--agent', options.target];
  const driver = startChild('client driver', process.execPath, [...driverArgs, '--target', options.target], {
    cwd: ROOT,
    logFile: driverLog,
  });
  children.push(driver);
  const outcome = await Promise.race([driver.exited, abortable(signal)]);
  run.expected = watcher.state.expected;
  if (outcome === 'aborted' || outcome.code !== 0) {
    run.error =
      outcome === 'aborted'
        ? `timed out after ${options.timeoutMs / 60_000} min (partial report)`
        : `the client driver failed (${exitText(outcome)}); see ${driverLog}`;
    await driver.stop();
    // Ask wstest for the report of the cases that did run, with the baseline client (bounded).
    if (tester.running) {
      const rescue = startChild('report rescue', process.execPath, [...driverArgs, '--target', 'ws', '--update-reports-only'], {
        cwd: ROOT,
        logFile: driverLog,
      });
      children.push(rescue);
      const limit = setTimeout(() => rescue.stop(), 60_000);
      await rescue.exited;
      clearTimeout(limit);
    }
  }
  if (!tester.running) run.error ??= `wstest fuzzingserver exited during the run (${exitText(tester.exitInfo)})`;
}

// --- Main.

function libraryVersion(target) {
  const file = target === 'ws' ? join(ROOT, 'node_modules', 'ws', 'package.json') : join(ROOT, 'package.json');
  try {
    return `${target} ${JSON.parse(readFileSync(file, 'utf8')).version}`;
  } catch {
    return target;
  }
}

function metadata(options, wstest, loadAtStart) {
  const cpus = os.cpus();
  return {
    target: options.target,
    library: libraryVersion(options.target),
    load: `${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end (1-minute load average; other work slows the suite)`,
    date: new Date().toISOString(),
    node: process.version,
    commit: quickOutput('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }) ?? 'unknown',
    machine: `${cpus.length} × ${cpus[0]?.model?.trim() ?? 'unknown CPU'}, ${os.platform()} ${os.release()}`,
    wstest: wstest?.describe ?? 'not available',
    cases: options.cases ? options.cases.join(', ') : 'all (*)',
    allowUnimplemented: options.allowUnimplemented,
  };
}

function finish(passed, failed, skipped) {
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 ? 1 : 0);
}

async function main() {
  const options = parseCli();
  installExitHandlers();
  const reportsDir = join(HERE, 'reports');
  mkdirSync(reportsDir, { recursive: true });

  let wstest;
  try {
    if (options.target === 'rfc6455') await ensureBuild(reportsDir);
    wstest = await prepareWstest({ root: ROOT, say });
  } catch (error) {
    console.error(`autobahn: ${error.message}`);
    finish(0, 1, 0);
  }

  const sides = [options.server && 'server', options.client && 'client'].filter(Boolean);
  say(`target ${options.target}, ${sides.join(' + ')} side${sides.length > 1 ? 's side by side' : ''}, cases ${options.cases?.join(',') ?? '*'}`);
  const loadAtStart = os.loadavg()[0];
  const runs = await Promise.all(sides.map((side) => runSide(side, options, wstest)));

  const summaries = runs.map((run) => summarizeSide(readSide(run), options.allowUnimplemented));
  const meta = metadata(options, wstest, loadAtStart);
  console.log(renderText(summaries, meta));

  const resultsFile =
    options.target === 'rfc6455'
      ? join(HERE, 'RESULTS.md')
      : !options.cases && sides.length === 2
        ? join(HERE, 'RESULTS-ws-baseline.md')
        : null;
  if (resultsFile) {
    writeFileSync(resultsFile, renderMarkdown(summaries, meta));
    say(`wrote ${relative(ROOT, resultsFile)}; reports in ${summaries.map((s) => relative(ROOT, s.outdir ?? '')).join(', ')}`);
  } else {
    say(`baseline file not written (only a full run of both sides writes it); reports in ${summaries.map((s) => relative(ROOT, s.outdir ?? '')).join(', ')}`);
  }

  const total = (key) => summaries.reduce((sum, s) => sum + s[key], 0);
  finish(total('passed'), total('failed'), total('skipped'));
}

main();
