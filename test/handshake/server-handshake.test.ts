import { describe, expect, it } from 'vitest';
import { HandshakeError } from '../../src/handshake/handshake-error.js';
import { type RequestHead, RequestHeadParser, ResponseHeadParser } from '../../src/handshake/head-parser.js';
import {
  buildAcceptResponse,
  buildErrorResponse,
  selectProtocol,
  validateUpgradeRequest,
} from '../../src/handshake/server-handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

const BASE: Array<[string, string]> = [
  ['Host', 'server.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', KEY],
  ['Sec-WebSocket-Version', '13'],
];

/** Parses a request made of BASE with `changes` applied: a [name, null] pair removes that field. */
function request(changes: Array<[string, string | null]> = [], extra: Array<[string, string]> = [], startLine = 'GET /chat HTTP/1.1'): RequestHead {
  let fields: Array<[string, string]> = BASE.map(([n, v]) => [n, v]);
  for (const [name, value] of changes) {
    const i = fields.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
    if (value === null) fields = fields.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
    else if (i >= 0) fields[i] = [name, value];
    else fields.push([name, value]);
  }
  fields.push(...extra);
  const text = `${startLine}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  const result = new RequestHeadParser().push(Buffer.from(text, 'latin1'));
  if (result.kind !== 'complete') throw new Error(`test request did not parse: ${text}`);
  return result.head;
}

function statusOf(head: RequestHead): number | 'ok' {
  const r = validateUpgradeRequest(head);
  return r instanceof HandshakeError ? r.status : 'ok';
}

describe('validateUpgradeRequest', () => {
  it('accepts the RFC 6455 §1.2 example request', () => {
    const head = request(
      [
        ['Origin', 'http://example.com'],
        ['Sec-WebSocket-Protocol', 'chat, superchat'],
      ],
      [],
    );
    expect(validateUpgradeRequest(head)).toEqual({
      key: KEY,
      version: 13,
      protocols: ['chat', 'superchat'],
      extensions: [],
      origin: 'http://example.com',
      host: 'server.example.com',
    });
  });

  it('accepts case-insensitive values, token lists and several field lines', () => {
    const head = request(
      [
        ['Upgrade', 'h2c, WebSocket'],
        ['Connection', 'keep-alive, UPGRADE'],
        ['Sec-WebSocket-Protocol', 'a'],
        ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
      ],
      [
        ['Sec-WebSocket-Protocol', 'b,c'],
        ['Sec-WebSocket-Extensions', 'x-foo'],
        ['Content-Length', '0'],
      ],
    );
    const r = validateUpgradeRequest(head);
    expect(r).not.toBeInstanceOf(HandshakeError);
    if (r instanceof HandshakeError) return;
    expect(r.protocols).toEqual(['a', 'b', 'c']);
    expect(r.extensions).toEqual([
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      { name: 'x-foo', params: [] },
    ]);
    expect(r.origin).toBeUndefined();
  });

  it('accepts Host values with a port, IPv4 and IPv6 literals', () => {
    for (const host of ['example.com:8080', '127.0.0.1', '[::1]:9000', 'xn--caf-dma.example']) {
      expect(statusOf(request([['Host', host]])), host).toBe('ok');
    }
  });

  const table: Array<[string, RequestHead, number]> = [
    ['POST', request([], [], 'POST /chat HTTP/1.1'), 405],
    ['lowercase get', request([], [], 'get /chat HTTP/1.1'), 405],
    ['HEAD', request([], [], 'HEAD /chat HTTP/1.1'), 405],
    ['missing Host', request([['Host', null]]), 400],
    ['two Host fields', request([], [['Host', 'other.example']]), 400],
    ['empty Host', request([['Host', '']]), 400],
    ['Host with userinfo', request([['Host', 'user@example.com']]), 400],
    ['Host with a path', request([['Host', 'example.com/x']]), 400],
    ['Host with a space', request([['Host', 'exa mple.com']]), 400],
    ['Transfer-Encoding', request([], [['Transfer-Encoding', 'chunked']]), 400],
    ['Content-Length 5', request([], [['Content-Length', '5']]), 400],
    ['Content-Length 0 then 5', request([], [['Content-Length', '0'], ['Content-Length', '5']]), 400],
    ['no Upgrade at all', request([['Upgrade', null]]), 400],
    ['Upgrade without websocket', request([['Upgrade', 'h2c']]), 400],
    ['Upgrade websocket/13 only', request([['Upgrade', 'websocket/13']]), 400],
    ['Upgrade malformed', request([['Upgrade', 'web socket']]), 400],
    ['empty Upgrade', request([['Upgrade', '']]), 400],
    ['missing Connection', request([['Connection', null]]), 400],
    ['Connection without upgrade', request([['Connection', 'keep-alive']]), 400],
    ['Connection malformed', request([['Connection', 'Upgrade;x']]), 400],
    ['Connection upgraded', request([['Connection', 'upgraded']]), 400],
    ['missing Version', request([['Sec-WebSocket-Version', null]]), 400],
    ['Version 14', request([['Sec-WebSocket-Version', '14']]), 400],
    ['Version 013', request([['Sec-WebSocket-Version', '013']]), 400],
    ['Version list', request([['Sec-WebSocket-Version', '13, 8']]), 400],
    ['Version on two lines', request([], [['Sec-WebSocket-Version', '13']]), 400],
    ['missing Key', request([['Sec-WebSocket-Key', null]]), 400],
    ['Key too short', request([['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=']]), 400],
    ['Key of 17 bytes', request([['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZRE=']]), 400],
    ['Key not base64', request([['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25j*Q==']]), 400],
    ['Key empty', request([['Sec-WebSocket-Key', '']]), 400],
    ['Key on two lines', request([], [['Sec-WebSocket-Key', KEY]]), 400],
    ['two Origin fields', request([], [['Origin', 'http://a'], ['Origin', 'http://b']]), 400],
    ['Protocol not a token', request([['Sec-WebSocket-Protocol', 'chat/1']]), 400],
    ['Protocol with space', request([['Sec-WebSocket-Protocol', 'a b']]), 400],
    ['Protocol duplicated', request([['Sec-WebSocket-Protocol', 'chat, chat']]), 400],
    ['Protocol duplicated across lines', request([['Sec-WebSocket-Protocol', 'a']], [['Sec-WebSocket-Protocol', 'a']]), 400],
    ['Protocol empty', request([['Sec-WebSocket-Protocol', '']]), 400],
    ['Protocol only commas', request([['Sec-WebSocket-Protocol', ' , ']]), 400],
    ['Extensions malformed', request([['Sec-WebSocket-Extensions', 'permessage-deflate; =1']]), 400],
    ['Extensions quoted non-token', request([['Sec-WebSocket-Extensions', 'a; b="1 2"']]), 400],
    ['Extensions empty', request([['Sec-WebSocket-Extensions', '']]), 400],
  ];
  for (const [name, head, status] of table) {
    it(`${name} -> ${status}`, () => {
      const r = validateUpgradeRequest(head);
      expect(r).toBeInstanceOf(HandshakeError);
      if (r instanceof HandshakeError) {
        expect(r.status).toBe(status);
        expect(r.message.length).toBeGreaterThan(0);
      }
    });
  }

  it('answers 405 with Allow: GET', () => {
    const r = validateUpgradeRequest(request([], [], 'PUT / HTTP/1.1'));
    expect(r instanceof HandshakeError && r.headers).toEqual([['Allow', 'GET']]);
  });

  it("uses ws's messages for the checks ws makes", () => {
    const messages: Array<[RequestHead, string]> = [
      [request([], [], 'POST / HTTP/1.1'), 'Invalid HTTP method'],
      [request([['Upgrade', null]]), 'Invalid Upgrade header'],
      [request([['Upgrade', 'h2c']]), 'Invalid Upgrade header'],
      [request([['Sec-WebSocket-Key', 'short']]), 'Missing or invalid Sec-WebSocket-Key header'],
      [request([['Sec-WebSocket-Version', '7']]), 'Missing or invalid Sec-WebSocket-Version header'],
      [request([['Sec-WebSocket-Protocol', 'a b']]), 'Invalid Sec-WebSocket-Protocol header'],
      [request([['Sec-WebSocket-Extensions', 'x; =1']]), 'Invalid or unacceptable Sec-WebSocket-Extensions header'],
    ];
    for (const [head, message] of messages) {
      const r = validateUpgradeRequest(head);
      expect(r instanceof HandshakeError && r.message, message).toBe(message);
    }
  });

  it('answers another version with 400 and Sec-WebSocket-Version: 13, 8 (RFC 6455 §4.4)', () => {
    const r = validateUpgradeRequest(request([['Sec-WebSocket-Version', '7']]));
    expect(r instanceof HandshakeError && [r.status, r.headers]).toEqual([400, [['Sec-WebSocket-Version', '13, 8']]]);
  });

  it('accepts version 8 (hybi-08) with its Sec-WebSocket-Origin, as ws does', () => {
    const r = validateUpgradeRequest(request([['Sec-WebSocket-Version', '8']], [['Sec-WebSocket-Origin', 'http://o.example']]));
    expect(r instanceof HandshakeError ? r.message : [r.version, r.origin]).toEqual([8, 'http://o.example']);
  });

  it('requires Host only when asked; a present Host is always checked', () => {
    const noHost = request([['Host', null]]);
    expect(statusOf(noHost)).toBe(400);
    const lenient = validateUpgradeRequest(noHost, { hostRequired: false, extensions: true });
    expect(lenient instanceof HandshakeError ? lenient.message : lenient.host).toBe('');
    const badHost = validateUpgradeRequest(request([['Host', 'a b']]), { hostRequired: false, extensions: true });
    expect(badHost).toBeInstanceOf(HandshakeError);
  });

  it('leaves Sec-WebSocket-Extensions alone when no extension is enabled, as ws does', () => {
    const r = validateUpgradeRequest(request([['Sec-WebSocket-Extensions', 'x; =1']]), { hostRequired: true, extensions: false });
    expect(r instanceof HandshakeError ? r.message : r.extensions).toEqual([]);
  });

  it('checks the method before anything else, and the key before the version', () => {
    expect(statusOf(request([['Host', null], ['Upgrade', null]], [], 'POST / HTTP/1.1'))).toBe(405);
    const r = validateUpgradeRequest(request([['Sec-WebSocket-Version', '7'], ['Sec-WebSocket-Key', 'x']]));
    expect(r instanceof HandshakeError && r.message).toBe('Missing or invalid Sec-WebSocket-Key header');
  });
});

describe('buildAcceptResponse', () => {
  it('writes the RFC 6455 §1.3 response byte for byte', () => {
    expect(buildAcceptResponse(KEY, undefined, undefined).toString('latin1')).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        '\r\n',
    );
  });

  it('adds protocol, extensions and extra headers in that order', () => {
    const bytes = buildAcceptResponse(KEY, 'chat', 'permessage-deflate; server_no_context_takeover', [
      ['Set-Cookie', 'a=b; Path=/'],
      ['X-Thing', ''],
    ]);
    expect(bytes.toString('latin1')).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'Sec-WebSocket-Protocol: chat\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n' +
        'Set-Cookie: a=b; Path=/\r\n' +
        'X-Thing: \r\n' +
        '\r\n',
    );
  });

  it("omits '' protocol and extensions", () => {
    expect(buildAcceptResponse(KEY, '', '')).toEqual(buildAcceptResponse(KEY, undefined, undefined));
  });

  it('throws TypeError on misuse', () => {
    expect(() => buildAcceptResponse('nope', undefined, undefined)).toThrow(TypeError);
    expect(() => buildAcceptResponse(KEY, 'a b', undefined)).toThrow(TypeError);
    expect(() => buildAcceptResponse(KEY, 'a\r\nX: y', undefined)).toThrow(TypeError);
    expect(() => buildAcceptResponse(KEY, undefined, 'x\r\n\r\nHTTP/1.1 200 OK')).toThrow(TypeError);
    const bad: Array<[string, string]> = [
      ['X-A', 'b\r\nInjected: 1'],
      ['X-A', 'b\nc'],
      ['X-A', 'b\rc'],
      ['X-A', 'b\0c'],
      ['X-A', 'caf\u0113'],
      ['X A', 'b'],
      ['X-A:', 'b'],
      ['', 'b'],
      ['Upgrade', 'h2c'],
      ['connection', 'close'],
      ['Sec-WebSocket-Accept', 'x'],
      ['SEC-WEBSOCKET-PROTOCOL', 'x'],
      ['Sec-WebSocket-Extensions', 'x'],
    ];
    for (const header of bad) {
      expect(() => buildAcceptResponse(KEY, undefined, undefined, [header]), JSON.stringify(header)).toThrow(TypeError);
    }
  });
});

describe('buildErrorResponse', () => {
  it('writes a complete response with the reason phrase as body by default', () => {
    expect(buildErrorResponse(400).toString('latin1')).toBe(
      'HTTP/1.1 400 Bad Request\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 11\r\n' +
        '\r\n' +
        'Bad Request',
    );
  });

  it('sends the message and extra headers; Content-Length counts UTF-8 bytes', () => {
    expect(buildErrorResponse(405, 'só GET', [['Allow', 'GET']]).toString('utf8')).toBe(
      'HTTP/1.1 405 Method Not Allowed\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 7\r\n' +
        'Allow: GET\r\n' +
        '\r\n' +
        'só GET',
    );
  });

  it('says Connection: Upgrade, close when it carries an Upgrade header (426)', () => {
    const text = buildErrorResponse(426, undefined, [['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13']]).toString('latin1');
    expect(text).toBe(
      'HTTP/1.1 426 Upgrade Required\r\n' +
        'Connection: Upgrade, close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 16\r\n' +
        'Upgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\n' +
        '\r\n' +
        'Upgrade Required',
    );
  });

  it('has reason phrases for the handshake statuses and an empty one for unknown codes', () => {
    const lines: Record<number, string> = {
      403: 'HTTP/1.1 403 Forbidden',
      414: 'HTTP/1.1 414 URI Too Long',
      431: 'HTTP/1.1 431 Request Header Fields Too Large',
      500: 'HTTP/1.1 500 Internal Server Error',
      505: 'HTTP/1.1 505 HTTP Version Not Supported',
      599: 'HTTP/1.1 599 ',
    };
    for (const [status, line] of Object.entries(lines)) {
      expect(buildErrorResponse(Number(status)).toString('latin1').split('\r\n')[0]).toBe(line);
    }
    expect(buildErrorResponse(599).toString('latin1').endsWith('\r\n\r\n599')).toBe(true);
  });

  it('the output of every HandshakeError parses back as a response with that status', () => {
    const errors = [
      validateUpgradeRequest(request([], [], 'POST / HTTP/1.1')),
      validateUpgradeRequest(request([['Upgrade', null]])),
      validateUpgradeRequest(request([['Sec-WebSocket-Version', '7']])),
      validateUpgradeRequest(request([['Host', null]])),
    ];
    for (const e of errors) {
      if (!(e instanceof HandshakeError)) throw new Error('expected an error');
      const bytes = buildErrorResponse(e.status, e.message, e.headers);
      const result = new ResponseHeadParser().push(bytes);
      expect(result.kind).toBe('complete');
      if (result.kind !== 'complete') continue;
      expect(result.head.status).toBe(e.status);
      expect(result.rest.toString()).toBe(e.message);
      expect(result.head.headers.get('content-length')).toEqual([String(Buffer.byteLength(e.message))]);
    }
  });

  it('throws on misuse', () => {
    expect(() => buildErrorResponse(99)).toThrow(RangeError);
    expect(() => buildErrorResponse(600)).toThrow(RangeError);
    expect(() => buildErrorResponse(400.5)).toThrow(RangeError);
    expect(() => buildErrorResponse(400, 'x', [['X', 'a\r\nb']])).toThrow(TypeError);
    expect(() => buildErrorResponse(400, 'x', [['Content-Length', '0']])).toThrow(TypeError);
    expect(() => buildErrorResponse(400, 'x', [['Connection', 'keep-alive']])).toThrow(TypeError);
  });
});

describe('selectProtocol', () => {
  it("picks the first offered protocol the server supports (the client's order)", () => {
    expect(selectProtocol(['a', 'b', 'c'], ['c', 'b'])).toBe('b');
    expect(selectProtocol(['a'], ['b'])).toBeUndefined();
    expect(selectProtocol([], ['b'])).toBeUndefined();
    expect(selectProtocol(['Chat'], ['chat'])).toBeUndefined();
  });
});
