// `Sender.frame` and `ws._sender.sendFrame`, side by side with ws's own.
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { createRequire } from 'node:module';
import { WebSocket as WsWebSocket } from 'ws';
import { Sender } from '../../src/api/sender.js';
import { WebSocket } from '../../src/api/websocket.js';
import { cleanups, connectPeers, startServer, until } from './helpers.js';

afterEach(() => cleanups.run());

// ws's CommonJS export carries its Sender (lib/sender.js); its ESM wrapper does not.
const WsSender = (createRequire(import.meta.url)('ws') as { Sender: { frame(data: Buffer | string, options: object): Buffer[] } }).Sender;

/** Both encoders on copies of the same input; the lists of Buffers compared as hex (and the inputs after). */
function sideBySide(data: Buffer | string, options: Record<string, unknown>): { ours: string[]; theirs: string[]; inputs: [string, string] } {
  const ourData = typeof data === 'string' ? data : Buffer.from(data);
  const theirData = typeof data === 'string' ? data : Buffer.from(data);
  const fixedMask = (mask: Buffer): void => void mask.writeUInt32BE(0x11223344, 0);
  const ours = Sender.frame(ourData, { ...options, generateMask: options.mask ? fixedMask : undefined } as never).map((b) => b.toString('hex'));
  const theirs = WsSender.frame(theirData, { ...options, generateMask: options.mask ? fixedMask : undefined }).map((b) => b.toString('hex'));
  const hex = (d: Buffer | string): string => (typeof d === 'string' ? d : d.toString('hex'));
  return { ours, theirs, inputs: [hex(ourData), hex(theirData)] };
}

describe('Sender.frame matches ws byte for byte', () => {
  const sizes = [0, 1, 125, 126, 127, 1000, 65535, 65536, 70000];
  for (const size of sizes) {
    for (const mask of [false, true]) {
      for (const readOnly of [false, true]) {
        test(`${size} B, mask ${mask}, readOnly ${readOnly}`, () => {
          const data = Buffer.alloc(size);
          for (let i = 0; i < size; i++) data[i] = (i * 7) & 0xff;
          const result = sideBySide(data, { opcode: 2, fin: true, rsv1: false, mask, readOnly });
          expect(result.ours).toEqual(result.theirs);
          // In-place masking (readOnly false) changes both inputs alike.
          expect(result.inputs[0]).toBe(result.inputs[1]);
        });
      }
    }
  }

  test('strings, rsv1, fin false, text and control opcodes', () => {
    for (const options of [
      { opcode: 1, fin: true, rsv1: true, mask: false, readOnly: false },
      { opcode: 1, fin: false, rsv1: false, mask: true, readOnly: true },
      { opcode: 0, fin: true, rsv1: false, mask: true, readOnly: false },
      { opcode: 9, fin: true, rsv1: false, mask: false, readOnly: true },
    ]) {
      const result = sideBySide('héllo', options);
      expect(result.ours).toEqual(result.theirs);
    }
  });

  test('a zero masking key leaves the payload unmasked, as ws', () => {
    const zero = (mask: Buffer): void => void mask.fill(0);
    const ours = Sender.frame(Buffer.from('abc'), { opcode: 2, fin: true, mask: true, readOnly: true, generateMask: zero });
    const theirs = WsSender.frame(Buffer.from('abc'), { opcode: 2, fin: true, mask: true, readOnly: true, generateMask: zero });
    expect(ours.map((b) => b.toString('hex'))).toEqual(theirs.map((b) => b.toString('hex')));
  });

  test('without generateMask the key is random and written into maskBuffer', () => {
    const maskBuffer = Buffer.alloc(4);
    const [frame] = Sender.frame(Buffer.from('abcd'), { opcode: 2, fin: true, mask: true, readOnly: true, maskBuffer });
    expect(frame!.subarray(2, 6).equals(maskBuffer)).toBe(true);
    expect(frame![1]).toBe(0x84);
    expect(WebSocket.Sender).toBe(Sender);
  });
});

describe('_sender.sendFrame', () => {
  test('one frame encoded once, written to many sockets, in order with send(); the callback runs once each', async () => {
    const { wss, port } = await startServer();
    const peers = await connectPeers(wss, port, 3);
    const small = Sender.frame(Buffer.from('shared'), { opcode: 1, fin: true, readOnly: true, mask: false });
    const large = Sender.frame(Buffer.alloc(4000, 5), { opcode: 2, fin: true, readOnly: true, mask: false });
    const calls: unknown[] = [];
    for (const peer of peers) {
      peer.server.send('before');
      peer.server._sender!.sendFrame(small, (error) => calls.push(error ?? null));
      peer.server._sender!.sendFrame(large);
      peer.server.send('after');
    }
    await until(() => calls.length === 3 && peers.every((peer) => peer.received.length === 4));
    expect(calls).toEqual([null, null, null]);
    for (const peer of peers) expect(peer.received).toEqual(['before', 'shared', `bin:${Buffer.alloc(4000, 5).toString('hex')}`, 'after']);
  });

  test('the same program with ws and with rfc6455 delivers the same messages', async () => {
    const { WebSocketServer: WsServer } = await import('ws');
    const wsServer = new WsServer({ port: 0, host: '127.0.0.1' });
    await once(wsServer, 'listening');
    cleanups.add(() => new Promise<void>((resolve) => wsServer.close(() => resolve())));
    const { wss, port } = await startServer();
    const run = async (server: { on(event: 'connection', cb: (ws: { _sender: { sendFrame(list: Buffer[], cb?: () => void): void } }) => void): unknown }, serverPort: number, frame: typeof Sender.frame) => {
      const received: string[] = [];
      server.on('connection', (ws) => {
        ws._sender.sendFrame(frame('one', { opcode: 1, fin: true, mask: false, readOnly: false }));
        ws._sender.sendFrame(frame(Buffer.from([1, 2]), { opcode: 2, fin: true, mask: false, readOnly: true }));
      });
      const client = new WsWebSocket(`ws://127.0.0.1:${serverPort}`);
      cleanups.add(() => client.terminate());
      client.on('message', (data, isBinary) => received.push(isBinary ? (data as Buffer).toString('hex') : String(data)));
      await until(() => received.length === 2);
      return received;
    };
    const theirs = await run(wsServer as never, (wsServer.address() as { port: number }).port, WsSender.frame as typeof Sender.frame);
    const ours = await run(wss as never, port, Sender.frame);
    expect(ours).toEqual(theirs);
    expect(ours).toEqual(['one', '0102']);
  });

  test('after the close frame, sendFrame reports an error to its callback', async () => {
    const { wss, port } = await startServer();
    const [a] = await connectPeers(wss, port, 1);
    const sender = a!.server._sender!;
    a!.server.close();
    const error = await new Promise((resolve) => sender.sendFrame(Sender.frame('late', { opcode: 1, fin: true }), resolve));
    expect(error).toBeInstanceOf(Error);
  });
});
