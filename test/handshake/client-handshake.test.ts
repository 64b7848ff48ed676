import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptKeyFor } from '../../src/handshake/accept-key.js';
import {
  buildClientRequest,
  type ClientRequestOptions,
  generateKey,
  validateServerResponse,
} from '../../src/handshake/client-handshake.js';
import { HandshakeError } from '../../src/handshake/handshake-error.js';
import { RequestHeadParser, type ResponseHead, ResponseHeadParser } from '../../src/handshake/head-parser.js';
import { buildAcceptResponse, validateUpgradeRequest } from '../../src/handshake/server-handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

function opts(over: Partial<ClientRequestOptions> = {}): ClientRequestOptions {
  return { host: 'server.example.com', port: 80, secure: false, path: '/chat', key: KEY, ...over };
}

function text(o: Partial<ClientRequestOptions>): string {
  return buildClientRequest(opts(o)).toString('latin1');
}

describe('generateKey', () => {
  it('is the base64 of 16 bytes from the injected source', () => {
    const calls: number[] = [];
    const key = generateKey((n) => {
      calls.push(n);
      return Buffer.from('the sample nonce');
    });
    expect(calls).toEqual([16]);
    expect(key).toBe(KEY);
  });

  it('defaults to crypto.randomBytes', () => {
    const key = generateKey();
    expect(key).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(Buffer.from(key, 'base64').length).toBe(16);
  });

  it('rejects a source that returns the wrong length', () => {
    expect(() => generateKey(() => Buffer.alloc(15))).toThrow(RangeError);
  });
});

describe('buildClientRequest', () => {
  it('writes the request byte for byte', () => {
    expect(text({})).toBe(
      'GET /chat HTTP/1.1\r\n' +
        'Host: server.example.com\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${KEY}\r\n` +
        'Sec-WebSocket-Version: 13\r\n' +
        '\r\n',
    );
  });

  it('writes protocols, extensions, origin and extra headers', () => {
    expect(
      text({
        path: '/a/b?c=d&e',
        protocols: ['chat', 'superchat'],
        extensions: 'permessage-deflate; client_max_window_bits',
        origin: 'http://example.com',
        headers: [
          ['Authorization', 'Bearer x'],
          ['Cookie', 'a=1'],
        ],
        version: 8,
      }),
    ).toBe(
      'GET /a/b?c=d&e HTTP/1.1\r\n' +
        'Host: server.example.com\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${KEY}\r\n` +
        'Sec-WebSocket-Version: 8\r\n' +
        'Sec-WebSocket-Protocol: chat, superchat\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' +
        'Origin: http://example.com\r\n' +
        'Authorization: Bearer x\r\n' +
        'Cookie: a=1\r\n' +
        '\r\n',
    );
  });

  it('accepts extra headers as a record, including a __proto__ name', () => {
    const headers = JSON.parse('{"X-A":"1","__proto__":"2"}') as Record<string, string>;
    expect(text({ headers })).toContain('\r\nX-A: 1\r\n__proto__: 2\r\n\r\n');
  });

  it('writes the port only when it is not the default of the scheme', () => {
    const host = (o: Partial<ClientRequestOptions>) => text(o).split('\r\n')[1];
    expect(host({ port: 80 })).toBe('Host: server.example.com');
    expect(host({ port: 443, secure: true })).toBe('Host: server.example.com');
    expect(host({ port: 443 })).toBe('Host: server.example.com:443');
    expect(host({ port: 80, secure: true })).toBe('Host: server.example.com:80');
    expect(host({ port: 8080 })).toBe('Host: server.example.com:8080');
    expect(host({ host: '127.0.0.1', port: 9001 })).toBe('Host: 127.0.0.1:9001');
  });

  it('brackets IPv6 literals', () => {
    const host = (o: Partial<ClientRequestOptions>) => text(o).split('\r\n')[1];
    expect(host({ host: '::1', port: 80 })).toBe('Host: [::1]');
    expect(host({ host: '::1', port: 8080 })).toBe('Host: [::1]:8080');
    expect(host({ host: '[::1]', port: 8080 })).toBe('Host: [::1]:8080');
    expect(host({ host: 'fe80::1%25eth0', port: 443, secure: true })).toBe('Host: [fe80::1%25eth0]');
  });

  it('lets a Host or Origin extra header replace the computed one', () => {
    const t = text({ origin: 'http://a', headers: { host: 'virtual.example', Origin: 'http://b' } });
    expect(t).toContain('\r\nHost: virtual.example\r\n');
    expect(t).toContain('\r\nOrigin: http://b\r\n');
    expect(t.match(/host:/gi)?.length).toBe(1);
    expect(t.match(/origin:/gi)?.length).toBe(1);
  });

  it("maps '' path to /", () => {
    expect(text({ path: '' }).startsWith('GET / HTTP/1.1\r\n')).toBe(true);
  });

  it('throws SyntaxError on invalid or duplicated protocols', () => {
    for (const protocols of [['a b'], ['chat', 'chat'], [''], ['a,b'], ['a\r\n']]) {
      expect(() => buildClientRequest(opts({ protocols })), JSON.stringify(protocols)).toThrow(SyntaxError);
    }
  });

  it('throws TypeError on invalid header names, values, host, path or key', () => {
    const bad: Array<Partial<ClientRequestOptions>> = [
      { headers: [['X-A', 'b\r\nInjected: 1']] },
      { headers: [['X-A', 'b\0']] },
      { headers: [['X-A', 'b\n']] },
      { headers: [['X A', 'b']] },
      { headers: [['', 'b']] },
      { headers: { 'X-A': 'caf\u0113' } },
      { headers: { Host: 'a\r\nb' } },
      { headers: [['Upgrade', 'h2c']] },
      { headers: [['connection', 'close']] },
      { headers: [['Sec-WebSocket-Key', KEY]] },
      { headers: [['sec-websocket-version', '13']] },
      { headers: [['Sec-WebSocket-Protocol', 'x']] },
      { headers: [['Sec-WebSocket-Extensions', 'x']] },
      { origin: 'http://a\r\nX: y' },
      { extensions: 'a\r\n' },
      { key: `${KEY}\r\n` },
      { host: 'a b' },
      { host: 'user@host' },
      { host: '' },
      { host: 'a/b' },
      { path: '/a b' },
      { path: '/a\r\nX: y' },
      { path: '/caf\u00e9' },
    ];
    for (const o of bad) expect(() => buildClientRequest(opts(o)), JSON.stringify(o)).toThrow(TypeError);
  });

  it('throws RangeError on an invalid port or version', () => {
    for (const o of [{ port: -1 }, { port: 65536 }, { port: 1.5 }, { version: 256 }, { version: -1 }, { version: 13.5 }]) {
      expect(() => buildClientRequest(opts(o)), JSON.stringify(o)).toThrow(RangeError);
    }
  });

  it('is accepted by validateUpgradeRequest with the same fields', () => {
    const protocolToken = fc.string({ unit: fc.constantFrom(...'abcXYZ019-._~!'.split('')), minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uniqueArray(protocolToken, { maxLength: 5 }),
        fc.option(fc.webUrl(), { nil: undefined }),
        fc.integer({ min: 1, max: 65535 }),
        fc.boolean(),
        (nonce, protocols, origin, port, secure) => {
          const key = generateKey(() => Buffer.from(nonce));
          const bytes = buildClientRequest(opts({ key, protocols, origin, port, secure }));
          const parsed = new RequestHeadParser().push(bytes);
          expect(parsed.kind).toBe('complete');
          if (parsed.kind !== 'complete') return;
          const r = validateUpgradeRequest(parsed.head);
          expect(r).toEqual({
            key,
            version: 13,
            protocols,
            extensions: [],
            origin,
            host: port === (secure ? 443 : 80) ? 'server.example.com' : `server.example.com:${port}`,
          });
        },
      ),
      { numRuns: 200, seed: 6455 },
    );
  });
});

function response(fields: Array<[string, string]>, statusLine = 'HTTP/1.1 101 Switching Protocols'): ResponseHead {
  const t = `${statusLine}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  const r = new ResponseHeadParser().push(Buffer.from(t, 'latin1'));
  if (r.kind !== 'complete') throw new Error(`test response did not parse: ${t}`);
  return r.head;
}

const OK: Array<[string, string]> = [
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Accept', ACCEPT],
];

describe('validateServerResponse', () => {
  it('accepts the RFC 6455 §1.3 response', () => {
    expect(validateServerResponse(response(OK), KEY, [], [])).toEqual({ protocol: undefined, extensions: [] });
  });

  it('returns the selected protocol and extensions', () => {
    const head = response([
      ...OK,
      ['Sec-WebSocket-Protocol', 'chat'],
      ['Sec-WebSocket-Extensions', 'permessage-deflate; server_max_window_bits=10'],
      ['Sec-WebSocket-Extensions', 'x-b'],
    ]);
    expect(validateServerResponse(head, KEY, ['superchat', 'chat'], ['permessage-deflate', 'x-b'])).toEqual({
      protocol: 'chat',
      extensions: [
        { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
        { name: 'x-b', params: [] },
      ],
    });
  });

  it('accepts case-insensitive Upgrade/Connection values and Connection lists', () => {
    const head = response([
      ['upgrade', 'WebSocket'],
      ['connection', 'keep-alive, UPGRADE'],
      ['sec-websocket-accept', ACCEPT],
    ]);
    expect(validateServerResponse(head, KEY, [], [])).not.toBeInstanceOf(HandshakeError);
  });

  it('turns a non-101 status into a HandshakeError with that status and the response headers', () => {
    const head = response([['Location', 'ws://elsewhere.example/'], ['Content-Length', '0']], 'HTTP/1.1 302 Found');
    const r = validateServerResponse(head, KEY, [], []);
    expect(r).toBeInstanceOf(HandshakeError);
    if (!(r instanceof HandshakeError)) return;
    expect(r.status).toBe(302);
    expect(r.message).toBe('Unexpected server response: 302');
    expect(r.headers).toEqual([
      ['Location', 'ws://elsewhere.example/'],
      ['Content-Length', '0'],
    ]);
    for (const status of [200, 400, 426, 500]) {
      const e = validateServerResponse(response(OK, `HTTP/1.1 ${status} X`), KEY, [], []);
      expect(e instanceof HandshakeError && e.status).toBe(status);
    }
  });

  const without = (name: string) => OK.filter(([n]) => n !== name);
  // With `ws`'s messages (test/api/errors.compat.test.ts runs the same answers against ws's client).
  const invalid: Array<[string, Array<[string, string]>, string[], string[], string]> = [
    ['missing Upgrade', without('Upgrade'), [], [], 'Unexpected server response: 101'],
    ['Upgrade h2c', [...without('Upgrade'), ['Upgrade', 'h2c']], [], [], 'Invalid Upgrade header'],
    ['Upgrade list', [...without('Upgrade'), ['Upgrade', 'websocket, h2c']], [], [], 'Invalid Upgrade header'],
    ['Upgrade twice', [...OK, ['Upgrade', 'websocket']], [], [], 'Invalid Upgrade header'],
    ['Upgrade websocket/13', [...without('Upgrade'), ['Upgrade', 'websocket/13']], [], [], 'Invalid Upgrade header'],
    ['missing Connection', without('Connection'), [], [], 'Unexpected server response: 101'],
    ['Connection keep-alive', [...without('Connection'), ['Connection', 'keep-alive']], [], [], 'Unexpected server response: 101'],
    ['Connection malformed', [...without('Connection'), ['Connection', 'upgrade x']], [], [], 'Unexpected server response: 101'],
    ['missing Accept', without('Sec-WebSocket-Accept'), [], [], 'Invalid Sec-WebSocket-Accept header'],
    ['wrong Accept', [...without('Sec-WebSocket-Accept'), ['Sec-WebSocket-Accept', acceptKeyFor('AAAAAAAAAAAAAAAAAAAAAA==')]], [], [], 'Invalid Sec-WebSocket-Accept header'],
    ['Accept in another case', [...without('Sec-WebSocket-Accept'), ['Sec-WebSocket-Accept', ACCEPT.toLowerCase()]], [], [], 'Invalid Sec-WebSocket-Accept header'],
    ['Accept twice', [...OK, ['Sec-WebSocket-Accept', ACCEPT]], [], [], 'Invalid Sec-WebSocket-Accept header'],
    ['protocol not offered', [...OK, ['Sec-WebSocket-Protocol', 'other']], ['chat'], [], 'Server sent an invalid subprotocol'],
    ['protocol when none offered', [...OK, ['Sec-WebSocket-Protocol', 'chat']], [], [], 'Server sent a subprotocol but none was requested'],
    ['no protocol when some were offered', OK, ['chat'], [], 'Server sent no subprotocol'],
    ["no protocol, checked before a bad extension (ws's order)", [...OK, ['Sec-WebSocket-Extensions', 'x-other']], ['chat'], ['permessage-deflate'], 'Server sent no subprotocol'],
    ['empty protocol', [...OK, ['Sec-WebSocket-Protocol', '']], ['chat'], [], 'Server sent an invalid subprotocol'],
    ['protocol list', [...OK, ['Sec-WebSocket-Protocol', 'chat, superchat']], ['chat', 'superchat'], [], 'Server sent an invalid subprotocol'],
    ['protocol twice', [...OK, ['Sec-WebSocket-Protocol', 'chat'], ['Sec-WebSocket-Protocol', 'chat']], ['chat'], [], 'Server sent an invalid subprotocol'],
    ['protocol in another case', [...OK, ['Sec-WebSocket-Protocol', 'Chat']], ['chat'], [], 'Server sent an invalid subprotocol'],
    ['extension not offered', [...OK, ['Sec-WebSocket-Extensions', 'x-other']], [], ['permessage-deflate'], 'Server indicated an extension that was not requested'],
    ['extension when none offered', [...OK, ['Sec-WebSocket-Extensions', 'permessage-deflate']], [], [], 'Server sent a Sec-WebSocket-Extensions header but no extension was requested'],
    ['extension twice', [...OK, ['Sec-WebSocket-Extensions', 'permessage-deflate, permessage-deflate']], [], ['permessage-deflate'], 'Invalid Sec-WebSocket-Extensions header'],
    ['extension malformed', [...OK, ['Sec-WebSocket-Extensions', 'permessage-deflate;']], [], ['permessage-deflate'], 'Invalid Sec-WebSocket-Extensions header'],
    ['empty extensions', [...OK, ['Sec-WebSocket-Extensions', '']], [], ['permessage-deflate'], 'Invalid Sec-WebSocket-Extensions header'],
  ];
  for (const [name, fields, protocols, extensions, message] of invalid) {
    it(`${name} -> 502, ${message}`, () => {
      const r = validateServerResponse(response(fields), KEY, protocols, extensions);
      expect(r).toBeInstanceOf(HandshakeError);
      if (r instanceof HandshakeError) {
        expect(r.status).toBe(502);
        expect(r.message).toBe(message);
      }
    });
  }
});

describe('client and server together', () => {
  it("the server's 101 for the client's request validates on the client", () => {
    const key = generateKey(() => Buffer.alloc(16, 7));
    const request = new RequestHeadParser().push(
      buildClientRequest(opts({ key, protocols: ['a', 'b'], extensions: 'permessage-deflate; client_max_window_bits' })),
    );
    if (request.kind !== 'complete') throw new Error('request did not parse');
    const upgrade = validateUpgradeRequest(request.head);
    if (upgrade instanceof HandshakeError) throw upgrade;
    const bytes = buildAcceptResponse(upgrade.key, 'b', 'permessage-deflate; client_max_window_bits=15');
    const parsed = new ResponseHeadParser().push(Buffer.concat([bytes, Buffer.from([0x81, 0x00])]));
    if (parsed.kind !== 'complete') throw new Error('response did not parse');
    expect([...parsed.rest]).toEqual([0x81, 0x00]);
    expect(validateServerResponse(parsed.head, key, ['a', 'b'], ['permessage-deflate'])).toEqual({
      protocol: 'b',
      extensions: [{ name: 'permessage-deflate', params: [['client_max_window_bits', '15']] }],
    });
  });
});
