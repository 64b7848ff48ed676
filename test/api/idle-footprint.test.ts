// What an idle server connection carries: the state that only some connections need (a split frame,
// a compression, a Blob queue, a client's handshake...) lives in side objects made when first needed,
// so an idle connection of a server without extensions has none of them, and its socket one 'end'
// listener. Checked on the objects' own fields, since memory is measured in bench/ only.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from '../../src/index.js';

const opened: Array<{ close(): void }> = [];
afterEach(() => {
  for (const item of opened.splice(0)) item.close();
});

type Internals = {
  _rare: object | null;
  _transport: { connection: { holds: object | null; decoder: { spill: object | null } } };
};

async function connect(options: { perMessageDeflate?: boolean } = {}): Promise<{ client: WebSocket; serverSide: WebSocket }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  opened.push(server);
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  opened.push({ close: () => client.terminate() });
  client.on('error', () => {});
  await once(client, 'open');
  const [serverSide] = (await accepted) as [WebSocket];
  return { client, serverSide };
}

describe('an idle server connection', () => {
  it('has no side objects, and they appear only when needed', async () => {
    const { client, serverSide } = await connect();
    const inner = serverSide as unknown as Internals;
    const connection = inner._transport.connection;
    expect(inner._rare).toBeNull();
    expect(connection.holds).toBeNull();
    expect(connection.decoder.spill).toBeNull();
    expect(serverSide._socket!.listenerCount('end')).toBe(1);

    // A whole message in one read needs none of them.
    const echo = once(serverSide, 'message');
    client.send('hello');
    expect(String((await echo)[0])).toBe('hello');
    expect(connection.decoder.spill).toBeNull();

    // A fragmented message needs the decoder's.
    const joined = once(serverSide, 'message');
    client.send('a', { fin: false });
    client.send('b', { fin: true });
    expect(String((await joined)[0])).toBe('ab');
    expect(connection.decoder.spill).not.toBeNull();
    expect(inner._rare).toBeNull();
  });

  it('the client side keeps its handshake state in its side object until it opens', async () => {
    const { client } = await connect();
    const inner = client as unknown as Internals;
    // Open now: the handshake is over and was released.
    expect((inner._rare as { handshake: unknown } | null)?.handshake ?? null).toBeNull();
  });
});
