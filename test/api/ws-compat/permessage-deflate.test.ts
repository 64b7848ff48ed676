// The `PerMessageDeflate` export side by side with `ws`'s: the name, the offer, the agreement on
// the same offers, and messages compressed by one and inflated by the other.
import { describe, expect, test } from 'vitest';
import * as ws from 'ws';
import { PerMessageDeflate, extension } from '../../../src/index.js';

interface WsDeflate {
  offer(): object;
  accept(configurations: object[]): object;
  compress(data: Buffer, fin: boolean, cb: (error: Error | null, result?: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, cb: (error: Error | null, result?: Buffer) => void): void;
  cleanup(): void;
}
const WsDeflate = (ws as unknown as { PerMessageDeflate: { new (options?: object): WsDeflate; extensionName: string } }).PerMessageDeflate;

/** The configurations of permessage-deflate in `header`, as applications get them from `extension.parse`. */
function offersIn(header: string): Array<Record<string, unknown>> {
  return extension.parse(header)['permessage-deflate']!;
}

function transform(deflate: WsDeflate | PerMessageDeflate, how: 'compress' | 'decompress', data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => deflate[how](data, true, (error, result) => (error ? reject(error) : resolve(result!))));
}

describe('PerMessageDeflate', () => {
  test("extensionName is ws's", () => {
    expect(PerMessageDeflate.extensionName).toBe('permessage-deflate');
    expect(PerMessageDeflate.extensionName).toBe(WsDeflate.extensionName);
  });

  test.each([[{}], [{ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }], [{ clientMaxWindowBits: false }]])(
    'offer() with %j is the same object as ws gives',
    (options) => {
      expect(new PerMessageDeflate(options).offer()).toEqual(new WsDeflate(options).offer());
    },
  );

  test.each([
    'permessage-deflate',
    'permessage-deflate; client_max_window_bits',
    'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
    'permessage-deflate; server_max_window_bits=9, permessage-deflate',
  ])('a server accepts %j as ws does', (header) => {
    const ours = new PerMessageDeflate({ isServer: true }).accept(offersIn(header));
    const theirs = new WsDeflate({ isServer: true }).accept(offersIn(header));
    expect(ours).toEqual(theirs);
  });

  test('a server that cannot accept any offer throws, as ws', () => {
    const offers = (): Array<Record<string, unknown>> => offersIn('permessage-deflate; server_max_window_bits=9');
    expect(() => new WsDeflate({ isServer: true, serverMaxWindowBits: 10 }).accept(offers())).toThrow('None of the extension offers can be accepted');
    expect(() => new PerMessageDeflate({ isServer: true, serverMaxWindowBits: 10 }).accept(offers())).toThrow('None of the extension offers can be accepted');
  });

  test('messages compressed by one side are inflated by the other, both ways, after the same negotiation', async () => {
    const client = new PerMessageDeflate();
    const server = new WsDeflate({ isServer: true });
    // Offer and answer go through the header, as in a handshake.
    const answer = server.accept(offersIn(extension.format({ 'permessage-deflate': client.offer() })));
    const agreed = client.accept(offersIn(extension.format({ 'permessage-deflate': answer as Record<string, unknown> })));
    expect(agreed).toEqual(answer);
    const text = Buffer.from('a message that compresses, a message that compresses, a message that compresses');
    const fromClient = await transform(client, 'compress', text);
    expect(fromClient.length).toBeLessThan(text.length);
    expect(await transform(server, 'decompress', fromClient)).toEqual(text);
    expect(await transform(client, 'decompress', await transform(server, 'compress', text))).toEqual(text);
    client.cleanup();
    server.cleanup();
  });
});
