// Child processes of a bench run: echo servers pinned to core 0, load generators pinned to core 1.
// Every child is tracked and killed when the run ends, normally or not.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';

const children = new Set();

/** SIGKILL to every child still running (synchronous: safe inside an 'exit' handler). */
export function killAllChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

let hooksInstalled = false;
/** Kill the children on exit, Ctrl-C, SIGTERM and uncaught errors. */
export function installCleanupHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every child process\n`);
      killAllChildren();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    killAllChildren();
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    process.stderr.write(`bench: ${error?.stack ?? error}\n`);
    killAllChildren();
    process.exit(1);
  });
}

/**
 * Runs `node ...args` (or `command ...args`) pinned to `core`, with the open-files limit raised to the hard
 * limit (the idle scenario holds 10,000 sockets on each side). bash execs taskset, which execs the program,
 * so the child's pid is the program's pid.
 */
export function spawnPinned(core, args, { cwd, env = {}, nodeFlags = [], command } = {}) {
  const script = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec taskset -c "$0" "$@"';
  const program = command ? [command] : [process.execPath, ...nodeFlags];
  const child = spawn('bash', ['-c', script, String(core), ...program, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stdoutText = '';
  child.stderrText = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    child.stdoutText = (child.stdoutText + text).slice(-65536);
  });
  child.stderr.on('data', (text) => {
    child.stderrText = (child.stderrText + text).slice(-8192);
  });
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

/** Resolves when `pattern` shows up on the child's stdout; rejects on exit or after `timeoutMs`. */
export function waitForOutput(child, pattern, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    function check() {
      const match = pattern.exec(child.stdoutText);
      if (match) done(null, match);
    }
    function onExit(code, signal) {
      done(new Error(`exited (${signal ?? code}) before it was ready: ${child.stderrText.trim().slice(-600)}`));
    }
    function done(error, match) {
      clearTimeout(timer);
      child.stdout.removeListener('data', check);
      child.removeListener('exit', onExit);
      if (error) reject(error);
      else resolve(match);
    }
    child.stdout.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`. */
export async function stopChild(child, graceMs = 2000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const result = await child.exited;
  clearTimeout(timer);
  return result;
}

/** Native addons (.node files) mapped into a process, from /proc/<pid>/maps. */
export function mappedNativeAddons(pid) {
  const found = new Set();
  for (const line of readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n')) {
    const at = line.indexOf('/');
    if (at >= 0 && line.endsWith('.node')) found.add(line.slice(at));
  }
  return [...found];
}

/** The CPU list a process may run on (taskset's doing), from /proc/<pid>/status. */
export function allowedCpus(pid) {
  const match = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return match ? match[1] : '?';
}

/** A port on 127.0.0.1 that nothing listens on right now, scanning upward from `from`. */
export async function freePort(from, to) {
  for (let port = from; port <= to; port++) {
    const free = await new Promise((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}
