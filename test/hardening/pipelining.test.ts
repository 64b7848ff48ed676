// Frames that arrive together with the handshake, split at arbitrary byte positions, and protocol
// violations sent to a server whose application listens for no 'error' on its sockets. The peer is a
// raw node:net socket writing hand-built frames; waits poll for conditions, nothing is timed.
import { afterEach, describe, expect, test } from 'vitest';
import {
  Cleanups,
  OP_BINARY,
  OP_CLOSE,
  OP_CONT,
  OP_PING,
  OP_TEXT,
  RawClient,
  clientFrame,
  closeFrame,
  echoServer,
  echoWithOurClient,
  nextTurn,
  prng,
  splitAtRandom,
  upgradeRequest,
  waitFor,
} from './helpers.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

const MESSAGES = 50;

/** The handshake, 50 masked text frames (varied sizes, multi-byte UTF-8) and a close, as one buffer. */
function pipelinedBytes(): { bytes: Buffer; texts: string[] } {
  const texts = Array.from({ length: MESSAGES }, (_, i) => `message ${i} ${'é✓'.repeat(i * 7)}`);
  const frames = texts.map((text, i) => clientFrame(OP_TEXT, text, { key: [i, 0x80 | i, 0x55, 0xaa] }));
  const bytes = Buffer.concat([Buffer.from(upgradeRequest()), ...frames, closeFrame(1000, 'done')]);
  return { bytes, texts };
}

/** After the pipelined bytes: 50 echoes in order, then the server's close 1000, then TCP closed by the server. */
async function expectEchoesThenClose(client: RawClient, texts: string[]): Promise<void> {
  await client.waitClosed();
  expect(client.head?.status).toBe(101);
  const data = client.frames.filter((f) => f.opcode !== OP_CLOSE);
  expect(data.map((f) => f.payload.toString('utf8'))).toEqual(texts);
  for (const f of data) {
    expect(f.opcode).toBe(OP_TEXT);
    expect(f.fin).toBe(true);
    expect(f.masked).toBe(false);
  }
  // The close frame is the last frame, after every echo.
  expect(client.frames.length).toBe(MESSAGES + 1);
  expect(client.frames[MESSAGES]!.opcode).toBe(OP_CLOSE);
  expect(client.closeCode()).toBe(1000);
  expect(client.error).toBeNull();
}

describe('frames pipelined with the handshake', () => {
  test('handshake + 50 text frames + close in ONE write: 50 echoes in order, then the close handshake', async () => {
    const { server, port } = await echoServer(cleanups);
    const { bytes, texts } = pipelinedBytes();
    const client = new RawClient(port, cleanups);
    client.write(bytes);
    await expectEchoesThenClose(client, texts);
    await waitFor(() => server.clients.size === 0, 'clients.size to return to 0');
  });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`the same bytes split at random positions across writes (seed ${seed})`, async () => {
      const { server, port } = await echoServer(cleanups);
      const { bytes, texts } = pipelinedBytes();
      const random = prng(seed);
      // From a few big pieces to many small ones, cuts landing anywhere: inside the head, a frame
      // header, a mask key, a UTF-8 sequence.
      const pieces = splitAtRandom(bytes, 2 + Math.floor(random() * 200), random);
      const client = new RawClient(port, cleanups);
      await client.waitConnected();
      await client.writePieces(pieces);
      await expectEchoesThenClose(client, texts);
      await waitFor(() => server.clients.size === 0, 'clients.size to return to 0');
    });
  }

  test('the handshake and the first byte of a frame in one write, then the rest one byte per write', async () => {
    const { port } = await echoServer(cleanups);
    const frames = Buffer.concat([clientFrame(OP_BINARY, Buffer.from([0, 1, 2, 254, 255])), closeFrame(1000)]);
    const client = new RawClient(port, cleanups);
    client.write(Buffer.concat([Buffer.from(upgradeRequest()), frames.subarray(0, 1)]));
    await client.waitHead();
    for (let i = 1; i < frames.length; i++) {
      client.write(frames.subarray(i, i + 1));
      await nextTurn();
    }
    await client.waitClosed();
    expect(client.frames.map((f) => f.opcode)).toEqual([OP_BINARY, OP_CLOSE]);
    expect([...client.frames[0]!.payload]).toEqual([0, 1, 2, 254, 255]);
    expect(client.closeCode()).toBe(1000);
  });
});

describe("protocol violations with no 'error' listener on the server's sockets", () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown): void => {
    uncaught.push(error);
  };
  afterEach(() => {
    process.removeListener('uncaughtException', onUncaught);
    process.removeListener('unhandledRejection', onUncaught);
    uncaught.length = 0;
  });

  const violations: Array<{ name: string; bytes: () => Buffer; code: number }> = [
    { name: 'an unmasked frame (RFC 6455 §5.1)', bytes: () => clientFrame(OP_TEXT, 'unmasked', { mask: false }), code: 1002 },
    { name: 'invalid UTF-8 in a text frame (§8.1)', bytes: () => clientFrame(OP_TEXT, Buffer.from([0x61, 0xc3, 0x28, 0x62])), code: 1007 },
    { name: 'reserved opcode 0x3 (§5.2)', bytes: () => clientFrame(0x3, 'x'), code: 1002 },
    { name: 'reserved control opcode 0xB (§5.2)', bytes: () => clientFrame(0xb, 'x'), code: 1002 },
    { name: 'RSV1 without a negotiated extension (§5.2)', bytes: () => clientFrame(OP_TEXT, 'x', { rsv1: true }), code: 1002 },
    { name: 'a fragmented ping (§5.5)', bytes: () => clientFrame(OP_PING, 'x', { fin: false }), code: 1002 },
    { name: 'a continuation with nothing to continue (§5.4)', bytes: () => clientFrame(OP_CONT, 'x'), code: 1002 },
    { name: 'a close frame with a 1-byte payload (§5.5.1)', bytes: () => clientFrame(OP_CLOSE, Buffer.from([0x03])), code: 1002 },
  ];

  for (const v of violations) {
    test(`${v.name} -> close ${v.code}, nothing thrown into the process`, async () => {
      process.on('uncaughtException', onUncaught);
      process.on('unhandledRejection', onUncaught);
      const { server, port, sockets } = await echoServer(cleanups, {}, { errorListener: false });
      const client = new RawClient(port, cleanups);
      await client.handshake();
      await waitFor(() => sockets.length === 1, 'the server-side socket');
      expect(sockets[0]!.listenerCount('error')).toBe(0);
      const serverClose = new Promise<number>((resolve) => sockets[0]!.on('close', (code: number) => resolve(code)));

      client.write(v.bytes());
      await client.waitClosed();
      expect(client.closeCode()).toBe(v.code);
      expect(client.frames.filter((f) => f.opcode !== OP_CLOSE)).toEqual([]);
      await serverClose;
      await waitFor(() => server.clients.size === 0, 'clients.size to return to 0');
      // Any throw from a 'data' handler or a timer would have surfaced by now; the server still works.
      expect(await echoWithOurClient(port, 'alive')).toBe('alive');
      await nextTurn();
      expect(uncaught).toEqual([]);
    });
  }
});
