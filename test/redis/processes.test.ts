// RedisBroker across processes: three nodes, each its own Node.js process, exchange publishes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanups } from '../pubsub/helpers.js';
import { CLIENT_KINDS, command, redisClient } from './nodes.js';
import { redisForFile, skipReason, until } from './redis-server.js';

const redis = redisForFile();
afterEach(() => cleanups.run());

const CHILD = fileURLToPath(new URL('./child-node.ts', import.meta.url));
const COUNT = 25;

describe.skipIf(skipReason !== null).each(CLIENT_KINDS)('RedisBroker over %s between processes', (kind) => {
  // A process's own publishes reach its subscriber locally, once: the copy coming back from Redis is dropped.
  // Three child processes that each compile the sources through tsx: slow to start on a loaded machine
  // (one CI run on Node 22 went past the default 20 s), hence the longer timeout.
  test('each process gets every publish exactly once, in each publisher order', { timeout: 60_000 }, async () => {
    const names = ['p0', 'p1', 'p2'];
    const children = names.map((name) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, kind, String(redis.server.port), name, String(COUNT), String(COUNT * 3)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      cleanups.add(() => void (child.exitCode === null && child.kill()));
      const lines = createInterface({ input: child.stdout! });
      const output: string[] = [];
      lines.on('line', (line) => output.push(line));
      return { child, output };
    });
    await until(() => children.every(({ output }) => output[0] === 'ready'));
    const admin = await redisClient(kind, redis.server.port);
    await until(async () => Number(((await command(admin, ['PUBSUB', 'NUMSUB', 'rfc6455:{cross}'])) as unknown[])[1]) === 3);
    const exits = children.map(({ child }) => once(child, 'exit'));
    for (const { child } of children) child.stdin!.write('go\n');
    await Promise.all(exits);
    for (const [index, { output }] of children.entries()) {
      const received = JSON.parse(output[1]!) as string[];
      for (const name of names) {
        const from = received.filter((message) => message.startsWith(`${name}:`));
        expect(from, `${names[index]} from ${name}`).toEqual(Array.from({ length: COUNT }, (_, i) => `${name}:${i}`));
      }
    }
  });
});
