// Throwaway redis-server instances for the Redis tests: one per test file, on a free loopback port,
// no persistence; stopped (by the pid this helper started) when the file is done.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export const REDIS_SERVER = '/usr/bin/redis-server';
/** Why the Redis tests are skipped, or null when they run. */
export const skipReason = existsSync(REDIS_SERVER) ? null : `${REDIS_SERVER} is not installed (apt-get install redis-server): the Redis tests are skipped`;
if (skipReason !== null) console.warn(skipReason);

export class RedisServer {
  private process: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  /** Start (again, on the same port: with no persistence every key is gone). */
  async restart(): Promise<void> {
    await this.stop();
    const child = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.process = child;
    for (let attempt = 0; !(await accepts(this.port)); attempt++) {
      if (attempt > 400 || child.exitCode !== null) throw new Error(`redis-server did not start on port ${this.port}`);
      await sleep(10);
    }
  }

  /** SIGSTOP / SIGCONT: Redis stops answering, its connections stay open. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * One redis-server for the calling test file: started before its tests (unless `skipReason`), stopped
 * after them. Read `.server` inside the tests.
 */
export function redisForFile(): { readonly server: RedisServer } {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    if (skipReason === null) server = await RedisServer.start();
  });
  afterAll(() => server?.stop());
  return {
    get server(): RedisServer {
      if (server === undefined) throw new Error('no redis-server: it starts in beforeAll, unless skipped');
      return server;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How long `until` waits before it fails with the condition's text (below the tests' timeouts). */
const UNTIL_LIMIT_MS = 18_000;

/**
 * Resolves once `condition()` holds (checked every 10 ms). After UNTIL_LIMIT_MS it rejects with the
 * condition's source, so that a test that hangs says what it waited for.
 */
export async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + UNTIL_LIMIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`waited ${UNTIL_LIMIT_MS} ms for: ${condition.toString().replace(/\s+/g, ' ')}`);
    await sleep(10);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}
