// Throwaway redis-server instances for the Redis tests: one per test file, on a free loopback port,
// no persistence; stopped (by the pid this helper started) when the file is done.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

export const REDIS_CLI = '/usr/bin/redis-cli';

/**
 * A real Redis Cluster of three masters (no replicas) on free loopback ports, each redis-server with
 * cluster mode on and its node file in a directory of its own; `redis-cli --cluster create` assigns
 * the slots (0-5460, 5461-10922, 10923-16383 in port order). Stopped with SIGKILL, directory removed.
 */
export class RedisCluster {
  private readonly processes: ChildProcess[] = [];

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  static async start(masters = 3): Promise<RedisCluster> {
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: both must be free (and stay below 65536).
      if (port + 10000 < 65536 && !ports.includes(port) && (await portIsFree(port + 10000))) ports.push(port);
    }
    const cluster = new RedisCluster(ports, mkdtempSync(join(tmpdir(), 'rfc6455-redis-cluster-')));
    try {
      for (const port of ports) {
        const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes'];
        args.push('--cluster-config-file', join(cluster.dir, `nodes-${port}.conf`), '--dir', cluster.dir);
        const child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
        cluster.processes.push(child);
        for (let attempt = 0; !(await accepts(port)); attempt++) {
          if (attempt > 400 || child.exitCode !== null) throw new Error(`redis-server (cluster) did not start on port ${port}`);
          await sleep(10);
        }
      }
      await run(REDIS_CLI, ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
      // Every node must agree that the cluster is up before a client asks it for the slots.
      for (const port of ports) {
        for (let attempt = 0; !(await run(REDIS_CLI, ['-p', String(port), 'cluster', 'info'])).includes('cluster_state:ok'); attempt++) {
          if (attempt > 500) throw new Error(`the Redis Cluster did not come up (node ${port})`);
          await sleep(10);
        }
      }
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** A command to one node (redis-cli), its reply as text. */
  cli(port: number, args: string[]): Promise<string> {
    return run(REDIS_CLI, ['-p', String(port), ...args]);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One Redis Cluster for the calling test file, as redisForFile() does for a server. */
export function redisClusterForFile(): { readonly cluster: RedisCluster } {
  let cluster: RedisCluster | undefined;
  beforeAll(async () => {
    if (skipReason === null) cluster = await RedisCluster.start();
  }, 60_000);
  afterAll(() => cluster?.stop());
  return {
    get cluster(): RedisCluster {
      if (cluster === undefined) throw new Error('no Redis Cluster: it starts in beforeAll, unless skipped');
      return cluster;
    },
  };
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
