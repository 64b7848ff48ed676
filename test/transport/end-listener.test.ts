// The transport's 'end' listener on a server's net.Socket replaces Node's own (which it calls first),
// so that an idle connection's socket keeps one 'end' listener, not a list of two; what Node's does
// (a socket that is not half-open refuses writes once the peer has ended) and what ours does (the
// connection ends with 1006 when the peer half-closes TCP without a close frame) both still happen.
import { once } from 'node:events';
import { Socket, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from '../../src/index.js';

const opened: Array<{ close(): void }> = [];
afterEach(() => {
  for (const item of opened.splice(0)) item.close();
});

async function serverAndClient(): Promise<{ server: WebSocketServer; client: WebSocket; serverSide: WebSocket }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  opened.push(server);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const accepted = once(server, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  client.on('error', () => {});
  await once(client, 'open');
  const [serverSide] = (await accepted) as [WebSocket];
  return { server, client, serverSide };
}

describe("the transport's 'end' listener", () => {
  it("a server connection's socket has one 'end' listener, which runs Node's first", async () => {
    const { client, serverSide } = await serverAndClient();
    const socket = serverSide._socket!;
    expect(socket).toBeInstanceOf(Socket);
    expect(socket.listenerCount('end')).toBe(1);
    // Before the peer ends, the socket writes through the prototype's write().
    expect(Object.hasOwn(socket, 'write')).toBe(false);
    const closed = once(serverSide, 'close');
    const ended = once(socket, 'end');
    // The client half-closes TCP without a close frame.
    client._socket!.end();
    await ended;
    // Node's listener ran: the socket got its own write() that refuses writes after the peer's FIN.
    expect(Object.hasOwn(socket, 'write')).toBe(true);
    const [code] = (await closed) as [number];
    expect(code).toBe(1006);
    client.terminate();
  });

  it('an app listener added to the socket still runs, after ours', async () => {
    const { client, serverSide } = await serverAndClient();
    const socket = serverSide._socket!;
    const order: string[] = [];
    serverSide.on('close', () => order.push('websocket close'));
    socket.on('end', () => order.push(`app end, readyState ${serverSide.readyState}`));
    expect(socket.listenerCount('end')).toBe(2);
    const closed = once(serverSide, 'close');
    client._socket!.end();
    await closed;
    // Ours ran before the app's: the connection was already closing when the app's listener ran.
    expect(order[0]).toMatch(/^app end, readyState [23]$/);
    expect(order).toContain('websocket close');
    client.terminate();
  });
});
