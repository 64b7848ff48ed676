// Every child process the runner starts goes through here, so that all of them are ended when the
// runner exits, fails or is interrupted: no orphans, whatever happens.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';

/** Children still running: Child objects. */
const live = new Set();

/**
 * A started child. Each runs in its own process group (detached), so killing the group also ends
 * anything it started itself; `extraCleanup` runs after the kill (e.g. `docker rm -f` for a
 * container, which a killed docker CLI would leave behind).
 */
class Child {
  constructor(name, command, args, { cwd, env, logFile, onLine, extraCleanup }) {
    this.name = name;
    this.extraCleanup = extraCleanup ?? null;
    this.exitInfo = null;
    const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
    log?.write(`$ ${[command, ...args].join(' ')}\n`);
    this.child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this);
    let pending = '';
    const take = (chunk) => {
      log?.write(chunk);
      if (!onLine) return;
      pending += chunk.toString('utf8');
      let nl;
      while ((nl = pending.indexOf('\n')) !== -1) {
        onLine(pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
      }
    };
    this.child.stdout.on('data', take);
    this.child.stderr.on('data', take);
    this.exited = new Promise((resolve) => {
      const finish = (info) => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        live.delete(this);
        this.#cleanupExtra();
        if (log) log.end(() => resolve(info));
        else resolve(info);
      };
      this.child.on('error', (error) => finish({ code: null, signal: null, error }));
      // 'close' (not 'exit'): the pipes are drained, so the log is complete.
      this.child.on('close', (code, signal) => finish({ code, signal, error: null }));
    });
  }

  get running() {
    return this.exitInfo === null;
  }

  #signal(signal) {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  #cleanupExtra() {
    const cleanup = this.extraCleanup;
    this.extraCleanup = null;
    if (cleanup) cleanup();
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the child is gone. */
  async stop(graceMs = 3000) {
    if (!this.running) return this.exitInfo;
    this.#signal('SIGTERM');
    const timer = setTimeout(() => this.#signal('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }

  /** Synchronous last resort, for process exit. */
  killNow() {
    this.#signal('SIGKILL');
    this.#cleanupExtra();
  }
}

export function startChild(name, command, args, options = {}) {
  return new Child(name, command, args, options);
}

/** Runs a command to completion, output to a log file; resolves with the exit info. */
export async function runToEnd(name, command, args, options = {}) {
  return startChild(name, command, args, options).exited;
}

function killAll() {
  for (const child of live) child.killNow();
}

let installed = false;
/** Ends every child on any way out of the runner. */
export function installExitHandlers() {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  const signals = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
  for (const [signal, number] of Object.entries(signals)) {
    process.on(signal, () => {
      process.stderr.write(`\nautobahn: ${signal}, stopping every child process\n`);
      killAll();
      process.exit(128 + number);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`autobahn: internal error: ${error?.stack ?? error}\n`);
    killAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    process.stderr.write(`autobahn: internal error: ${error?.stack ?? error}\n`);
    killAll();
    process.exit(1);
  });
}

/** Whether something accepts TCP connections on host:port. */
export function portAnswers(port, host) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Waits until host:port accepts connections. Fails early if `child` exits first or `signal` aborts,
 * and after `timeoutMs`.
 */
export async function waitForPort(port, host, { timeoutMs, child, signal }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new Error(`aborted while waiting for ${host}:${port}`);
    if (child && !child.running) {
      const { code, signal: sig, error } = child.exitInfo;
      throw new Error(
        `${child.name} exited before listening on ${host}:${port} (${error ? error.message : `code ${code}, signal ${sig}`})`,
      );
    }
    if (await portAnswers(port, host)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs a short command synchronously; returns trimmed stdout, or null when it fails. */
export function quickOutput(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000, ...options });
  if (result.status !== 0) return null;
  return result.stdout.trim();
}
