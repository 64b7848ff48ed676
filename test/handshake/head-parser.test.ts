import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HEAD_LIMITS,
  type HeadParseResult,
  RequestHeadParser,
  ResponseHeadParser,
} from '../../src/handshake/head-parser.js';

type Parser<H> = { push(chunk: Buffer): HeadParseResult<H> };

/**
 * Feeds `chunks` until the parser finishes, as a transport would; on 'complete' the chunks that were
 * not fed are appended to `rest` (they belong to the frame stream too).
 */
function feed<H>(parser: Parser<H>, chunks: readonly Buffer[]): HeadParseResult<H> {
  let result: HeadParseResult<H> = { kind: 'incomplete' };
  for (let i = 0; i < chunks.length; i++) {
    result = parser.push(chunks[i]);
    if (result.kind === 'complete') return { ...result, rest: Buffer.concat([result.rest, ...chunks.slice(i + 1)]) };
    if (result.kind === 'error') return result;
  }
  return result;
}

function parseRequest(text: string | Buffer, limits?: ConstructorParameters<typeof RequestHeadParser>[0]) {
  return new RequestHeadParser(limits).push(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
}

function parseResponse(text: string, limits?: ConstructorParameters<typeof ResponseHeadParser>[0]) {
  return new ResponseHeadParser(limits).push(Buffer.from(text, 'latin1'));
}

function errorStatus<H>(result: HeadParseResult<H>): number | undefined {
  return result.kind === 'error' ? result.error.status : undefined;
}

/** A plain summary of a result, comparable with toEqual across chunkings. */
function summary<H>(result: HeadParseResult<H>): unknown {
  if (result.kind === 'incomplete') return 'incomplete';
  if (result.kind === 'error') return { status: result.error.status, message: result.error.message };
  const head = result.head as unknown as { headers: Map<string, string[]> };
  return { head: { ...result.head, headers: [...head.headers] }, rest: result.rest.toString('latin1') };
}

const REQUEST =
  'GET /chat?x=1 HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Origin: http://example.com\r\n' +
  'Sec-WebSocket-Protocol: chat, superchat\r\n' +
  'Sec-WebSocket-Version: 13\r\n' +
  '\r\n';

const RESPONSE =
  'HTTP/1.1 101 Switching Protocols\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
  'Sec-WebSocket-Protocol: chat\r\n' +
  '\r\n';

describe('RequestHeadParser: valid heads', () => {
  it('parses the RFC 6455 §1.2 example request', () => {
    const result = parseRequest(REQUEST);
    expect(result.kind).toBe('complete');
    if (result.kind !== 'complete') return;
    const { head, rest } = result;
    expect(head.method).toBe('GET');
    expect(head.target).toBe('/chat?x=1');
    expect(head.version).toBe('1.1');
    expect(head.headers.get('host')).toEqual(['server.example.com']);
    expect(head.headers.get('sec-websocket-protocol')).toEqual(['chat, superchat']);
    expect(head.rawHeaders.slice(0, 4)).toEqual(['Host', 'server.example.com', 'Upgrade', 'websocket']);
    expect(head.rawHeaders.length).toBe(14);
    expect(rest.length).toBe(0);
  });

  it('keeps the bytes after CRLFCRLF as rest', () => {
    const frame = Buffer.from([0x81, 0x85, 1, 2, 3, 4, 0x0d, 0x0a, 0x0d, 0x0a, 0]);
    const result = parseRequest(Buffer.concat([Buffer.from(REQUEST), frame]));
    expect(result.kind).toBe('complete');
    if (result.kind === 'complete') expect(result.rest).toEqual(frame);
  });

  it('lowercases names, keeps the original case in rawHeaders, and collects repeated fields in order', () => {
    const result = parseRequest('GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nX-B:3\r\nX-A:\t 4 \t\r\n\r\n');
    expect(result.kind).toBe('complete');
    if (result.kind !== 'complete') return;
    expect(result.head.headers.get('x-a')).toEqual(['1', '2', '4']);
    expect(result.head.headers.get('x-b')).toEqual(['3']);
    expect(result.head.rawHeaders).toEqual(['X-A', '1', 'x-a', '2', 'X-B', '3', 'X-A', '4']);
  });

  it('trims OWS around values, keeps inner whitespace, accepts empty values and obs-text', () => {
    const result = parseRequest('GET / HTTP/1.1\r\nA:  x \t y  \r\nB:\r\nC: \t \r\nD: caf\xe9\r\n\r\n');
    expect(result.kind).toBe('complete');
    if (result.kind !== 'complete') return;
    expect(result.head.headers.get('a')).toEqual(['x \t y']);
    expect(result.head.headers.get('b')).toEqual(['']);
    expect(result.head.headers.get('c')).toEqual(['']);
    expect(result.head.headers.get('d')).toEqual(['caf\xe9']);
  });

  it('stores __proto__, constructor and prototype as plain names', () => {
    const result = parseRequest(
      'GET / HTTP/1.1\r\n__proto__: a\r\nconstructor: b\r\nprototype: c\r\nhasOwnProperty: d\r\n__PROTO__: e\r\n\r\n',
    );
    expect(result.kind).toBe('complete');
    if (result.kind !== 'complete') return;
    const h = result.head.headers;
    expect(h.get('__proto__')).toEqual(['a', 'e']);
    expect(h.get('constructor')).toEqual(['b']);
    expect(h.get('prototype')).toEqual(['c']);
    expect(h.get('hasownproperty')).toEqual(['d']);
    expect(Object.getPrototypeOf(h)).toBe(Map.prototype);
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });

  it('accepts a head without any header field', () => {
    const result = parseRequest('GET / HTTP/1.1\r\n\r\n');
    expect(result.kind).toBe('complete');
    if (result.kind === 'complete') expect(result.head.headers.size).toBe(0);
  });

  it('skips empty lines before the request line (RFC 9112 §2.2)', () => {
    const result = parseRequest('\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(result.kind).toBe('complete');
    if (result.kind === 'complete') expect(result.head.target).toBe('/');
  });

  it('accepts any token as a method and absolute-form or asterisk targets', () => {
    for (const [line, method, target] of [
      ['M-SEARCH * HTTP/1.1', 'M-SEARCH', '*'],
      ["X!#$%&'*+-.^_`|~ http://a.example/b?c HTTP/1.1", "X!#$%&'*+-.^_`|~", 'http://a.example/b?c'],
      ['get /%20 HTTP/1.1', 'get', '/%20'],
    ]) {
      const result = parseRequest(`${line}\r\n\r\n`);
      expect(result.kind, line).toBe('complete');
      if (result.kind === 'complete') expect([result.head.method, result.head.target]).toEqual([method, target]);
    }
  });

  it('treats HTTP/1.x with x > 1 as HTTP/1.1 (RFC 9110 §2.5) and reports the version as sent', () => {
    const result = parseRequest('GET / HTTP/1.9\r\n\r\n');
    expect(result.kind).toBe('complete');
    if (result.kind === 'complete') expect(result.head.version).toBe('1.9');
  });

  it('returns incomplete until the CRLFCRLF arrives', () => {
    const parser = new RequestHeadParser();
    expect(parser.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n')).kind).toBe('incomplete');
    expect(parser.push(Buffer.alloc(0)).kind).toBe('incomplete');
    expect(parser.push(Buffer.from('\r')).kind).toBe('incomplete');
    expect(parser.push(Buffer.from('\nrest')).kind).toBe('complete');
  });

  it('refuses to be fed after it finished', () => {
    const parser = new RequestHeadParser();
    parser.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(() => parser.push(Buffer.from('x'))).toThrow(Error);
    const failed = new RequestHeadParser();
    failed.push(Buffer.from('GET / HTTP/1.1\n'));
    expect(() => failed.push(Buffer.from('x'))).toThrow(Error);
  });
});

describe('RequestHeadParser: malformed heads', () => {
  const cases: Array<[string, string, number]> = [
    ['bare LF ending a header line', 'GET / HTTP/1.1\r\nHost: a\n\r\n', 400],
    ['bare LF ending the request line', 'GET / HTTP/1.1\nHost: a\r\n\r\n', 400],
    ['bare LF as the final empty line', 'GET / HTTP/1.1\r\nHost: a\r\n\n', 400],
    ['bare LF before the request line', '\nGET / HTTP/1.1\r\n\r\n', 400],
    ['bare CR inside a value', 'GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n', 400],
    ['bare CR inside the request line', 'GET /\r HTTP/1.1\r\n\r\n', 400],
    ['CR CR LF', 'GET / HTTP/1.1\r\r\n\r\n', 400],
    ['obs-fold continuation with SP', 'GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n', 400],
    ['obs-fold continuation with HTAB', 'GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n', 400],
    ['whitespace before the first header', 'GET / HTTP/1.1\r\n A: b\r\n\r\n', 400],
    ['SP before the colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400],
    ['HTAB before the colon', 'GET / HTTP/1.1\r\nHost\t: a\r\n\r\n', 400],
    ['no colon', 'GET / HTTP/1.1\r\nHost a\r\n\r\n', 400],
    ['empty name', 'GET / HTTP/1.1\r\n: a\r\n\r\n', 400],
    ['non-token name', 'GET / HTTP/1.1\r\nHo(st: a\r\n\r\n', 400],
    ['non-ASCII name', 'GET / HTTP/1.1\r\nH\xe9st: a\r\n\r\n', 400],
    ['NUL in a value', 'GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n', 400],
    ['DEL in a value', 'GET / HTTP/1.1\r\nA: b\x7fc\r\n\r\n', 400],
    ['VT in a value', 'GET / HTTP/1.1\r\nA: b\x0bc\r\n\r\n', 400],
    ['ESC in a value', 'GET / HTTP/1.1\r\nA: \x1b[31m\r\n\r\n', 400],
    ['lowercase http version', 'GET / http/1.1\r\n\r\n', 400],
    ['two spaces after the method', 'GET  / HTTP/1.1\r\n\r\n', 400],
    ['two spaces before the version', 'GET /  HTTP/1.1\r\n\r\n', 400],
    ['trailing space after the version', 'GET / HTTP/1.1 \r\n\r\n', 400],
    ['HTAB as separator', 'GET\t/ HTTP/1.1\r\n\r\n', 400],
    ['missing target', 'GET HTTP/1.1\r\n\r\n', 400],
    ['missing version', 'GET /\r\n\r\n', 400],
    ['leading space', ' GET / HTTP/1.1\r\n\r\n', 400],
    ['non-token method', 'G(T / HTTP/1.1\r\n\r\n', 400],
    ['non-ASCII in the target', 'GET /caf\xe9 HTTP/1.1\r\n\r\n', 400],
    ['version with two digits', 'GET / HTTP/1.10\r\n\r\n', 400],
    ['version without minor', 'GET / HTTP/1\r\n\r\n', 400],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\n\r\n', 505],
    ['HTTP/0.9 style', 'GET / HTTP/0.9\r\n\r\n', 505],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\n\r\n', 505],
    ['HTTP/3.0', 'GET / HTTP/3.0\r\n\r\n', 505],
    ['HTTP/2 connection preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505],
  ];
  for (const [name, text, status] of cases) {
    it(`${name} -> ${status}`, () => {
      const result = parseRequest(text);
      expect(result.kind).toBe('error');
      expect(errorStatus(result)).toBe(status);
      if (result.kind === 'error') {
        expect(result.error.name).toBe('HandshakeError');
        expect(result.error.message.length).toBeGreaterThan(0);
      }
    });
  }
});

describe('RequestHeadParser: limits', () => {
  it('uses the documented defaults', () => {
    expect(DEFAULT_HEAD_LIMITS).toEqual({ maxHeadSize: 16384, maxHeaders: 100, maxLineLength: 8192 });
  });

  function headOfSize(size: number): string {
    const base = 'GET / HTTP/1.1\r\nX: \r\n\r\n';
    const filler = size - base.length;
    let text = 'GET / HTTP/1.1\r\n';
    let left = filler;
    while (left > 0) {
      const n = Math.min(left, 4000);
      text += `X: ${'a'.repeat(n)}\r\n`;
      left -= n + 'X: \r\n'.length;
    }
    return `${text}\r\n`;
  }

  it('counts every byte up to and including the final CRLFCRLF', () => {
    const exact = 'GET / HTTP/1.1\r\nHost: abc\r\n\r\n';
    expect(parseRequest(exact, { maxHeadSize: exact.length }).kind).toBe('complete');
    expect(errorStatus(parseRequest(exact, { maxHeadSize: exact.length - 1 }))).toBe(431);
    // The bytes after the head do not count.
    expect(parseRequest(`${exact}xxxxxxxx`, { maxHeadSize: exact.length }).kind).toBe('complete');
  });

  it('rejects a head over the default 16384 bytes with 431 and accepts one just below', () => {
    const small = headOfSize(16000);
    expect(small.length).toBeLessThanOrEqual(16384);
    expect(parseRequest(small).kind).toBe('complete');
    expect(errorStatus(parseRequest(headOfSize(20000)))).toBe(431);
  });

  it('fails as soon as the limit is crossed, without waiting for the end of the head', () => {
    const parser = new RequestHeadParser({ maxHeadSize: 100 });
    expect(parser.push(Buffer.from('GET / HTTP/1.1\r\nX: ')).kind).toBe('incomplete');
    expect(errorStatus(parser.push(Buffer.alloc(200, 0x61)))).toBe(431);
  });

  it('counts skipped leading empty lines', () => {
    expect(errorStatus(parseRequest('\r\n'.repeat(9000)))).toBe(431);
    expect(errorStatus(parseRequest('\r\n\r\nGET / HTTP/1.1\r\n\r\n', { maxHeadSize: 21 }))).toBe(431);
    expect(parseRequest('\r\n\r\nGET / HTTP/1.1\r\n\r\n', { maxHeadSize: 22 }).kind).toBe('complete');
  });

  it('rejects more than maxHeaders fields with 431', () => {
    const head = (n: number) => `GET / HTTP/1.1\r\n${'A: b\r\n'.repeat(n)}\r\n`;
    expect(parseRequest(head(100)).kind).toBe('complete');
    expect(errorStatus(parseRequest(head(101)))).toBe(431);
    expect(parseRequest(head(3), { maxHeaders: 3 }).kind).toBe('complete');
    expect(errorStatus(parseRequest(head(4), { maxHeaders: 3 }))).toBe(431);
  });

  it('rejects a header line over maxLineLength with 431 and a request line with 414', () => {
    const field = `A: ${'b'.repeat(17)}`; // 20 bytes
    expect(parseRequest(`GET / HTTP/1.1\r\n${field}\r\n\r\n`, { maxLineLength: 20 }).kind).toBe('complete');
    expect(errorStatus(parseRequest(`GET / HTTP/1.1\r\n${field}b\r\n\r\n`, { maxLineLength: 20 }))).toBe(431);
    const line = `GET /${'x'.repeat(11)} HTTP/1.1`; // 25 bytes
    expect(parseRequest(`${line}\r\n\r\n`, { maxLineLength: 25 }).kind).toBe('complete');
    expect(errorStatus(parseRequest(`${line}\r\n\r\n`, { maxLineLength: 24 }))).toBe(414);
    expect(errorStatus(parseRequest(`GET /${'x'.repeat(9000)} HTTP/1.1\r\n\r\n`))).toBe(414);
  });

  it('rejects invalid limits with RangeError', () => {
    expect(() => new RequestHeadParser({ maxHeadSize: 0 })).toThrow(RangeError);
    expect(() => new RequestHeadParser({ maxHeaders: 1.5 })).toThrow(RangeError);
    expect(() => new ResponseHeadParser({ maxLineLength: Number.NaN })).toThrow(RangeError);
  });
});

describe('ResponseHeadParser', () => {
  it('parses the RFC 6455 §1.2 example response', () => {
    const result = parseResponse(`${RESPONSE}\x81\x02hi`);
    expect(result.kind).toBe('complete');
    if (result.kind !== 'complete') return;
    expect(result.head.version).toBe('1.1');
    expect(result.head.status).toBe(101);
    expect(result.head.reason).toBe('Switching Protocols');
    expect(result.head.headers.get('sec-websocket-accept')).toEqual(['s3pPLMBiTxaQ9kYGzzhZRbK+xOo=']);
    expect(result.rest.toString('latin1')).toBe('\x81\x02hi');
  });

  it('accepts an empty reason phrase with or without its SP, and obs-text in it', () => {
    for (const line of ['HTTP/1.1 404 ', 'HTTP/1.1 404', 'HTTP/1.1 404 Nicht \xfcberall\tda']) {
      const result = parseResponse(`${line}\r\nA: b\r\n\r\n`);
      expect(result.kind, line).toBe('complete');
      if (result.kind === 'complete') {
        expect(result.head.status).toBe(404);
        expect(result.head.reason).toBe(line.slice(13));
      }
    }
  });

  it('accepts what Node\'s HTTP parser accepts: other versions, status 600, any reason bytes, a leading empty line', () => {
    for (const text of [
      'HTTP/1.0 101 Switching Protocols\r\n\r\n',
      'HTTP/2.0 101 Switching Protocols\r\n\r\n',
      'HTTP/1.1 600 x\r\n\r\n',
      'HTTP/1.1 101 x\x00y\x7f\r\n\r\n',
      '\r\nHTTP/1.1 101 x\r\n\r\n',
      `HTTP/1.1 101 x\r\n${'A: b\r\n'.repeat(150)}\r\n`,
      `HTTP/1.1 101 x\r\nA: ${'b'.repeat(10000)}\r\n\r\n`,
      'HTTP/1.1 400 x\r\nContent-Length: 18446744073709551615\r\n\r\n',
      'HTTP/1.1 400 x\r\nContent-Length: 000000000000000000000001\r\n\r\n',
    ]) {
      expect(parseResponse(text).kind, JSON.stringify(text.slice(0, 40))).toBe('complete');
    }
  });

  // Each fault with llhttp's code and reason (what Node's http client gives `ws` for the same bytes:
  // checked side by side in test/api/errors.compat.test.ts).
  const cases: Array<[string, string, string, string]> = [
    ['HTTP/1.2 status line', 'HTTP/1.2 101 Switching Protocols\r\n\r\n', 'HPE_INVALID_VERSION', 'Invalid HTTP version'],
    ['bad major version', 'HTTP/x.1 101 x\r\n\r\n', 'HPE_INVALID_VERSION', 'Invalid major version'],
    ['bad minor version', 'HTTP/1.x 101 x\r\n\r\n', 'HPE_INVALID_VERSION', 'Invalid minor version'],
    ['no SP after the version', 'HTTP/1.1101 x\r\n\r\n', 'HPE_INVALID_VERSION', 'Expected space after version'],
    ['two-digit status', 'HTTP/1.1 10 x\r\n\r\n', 'HPE_INVALID_STATUS', 'Invalid status code'],
    ['four-digit status', 'HTTP/1.1 1010 x\r\n\r\n', 'HPE_INVALID_STATUS', 'Invalid response status'],
    ['status 099', 'HTTP/1.1 099 x\r\n\r\n', 'HPE_INVALID_STATUS', 'Invalid status code'],
    ['letters in the status', 'HTTP/1.1 1a1 x\r\n\r\n', 'HPE_INVALID_STATUS', 'Invalid status code'],
    ['HTAB after the status', 'HTTP/1.1 101\tx\r\n\r\n', 'HPE_INVALID_STATUS', 'Invalid response status'],
    ['not HTTP', 'SSH-2.0-OpenSSH_9.6\r\n\r\n', 'HPE_INVALID_CONSTANT', 'Expected HTTP/, RTSP/ or ICE/'],
    ['bare LF', 'HTTP/1.1 101 x\nUpgrade: websocket\r\n\r\n', 'HPE_CR_EXPECTED', 'Missing expected CR after response line'],
    ['bare LF after a header', 'HTTP/1.1 101 x\r\nUpgrade: websocket\n\r\n', 'HPE_CR_EXPECTED', 'Missing expected CR after header value'],
    ['bare CR', 'HTTP/1.1 101 x\r\nUpgrade: web\rsocket\r\n\r\n', 'HPE_LF_EXPECTED', 'Missing expected LF after header value'],
    ['bare CR in the status line', 'HTTP/1.1 101 x\rUpgrade: websocket\r\n\r\n', 'HPE_STRICT', 'Expected LF after CR'],
    ['obs-fold', 'HTTP/1.1 101 x\r\nUpgrade: websocket\r\n  more\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Unexpected whitespace after header value'],
    ['space before colon', 'HTTP/1.1 101 x\r\nUpgrade : websocket\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Invalid header field char'],
    ['space in a name', 'HTTP/1.1 101 x\r\nBad Header: x\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Invalid header token'],
    ['no colon', 'HTTP/1.1 101 x\r\nBadHeader\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Invalid header token'],
    ['NUL in a value', 'HTTP/1.1 101 x\r\nUpgrade: web\x00socket\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Invalid header value char'],
    ['an invalid Content-Length', 'HTTP/1.1 400 x\r\nContent-Length: 1, 1\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length'],
    ['an empty Content-Length', 'HTTP/1.1 400 x\r\nContent-Length:\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH', 'Empty Content-Length'],
    ['a Content-Length of 2^64', 'HTTP/1.1 400 x\r\nContent-Length: 18446744073709551616\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH', 'Content-Length overflow'],
    ['two Content-Length fields', 'HTTP/1.1 400 x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH', 'Duplicate Content-Length'],
    ['Content-Length after Transfer-Encoding', 'HTTP/1.1 400 x\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH', "Content-Length can't be present with Transfer-Encoding"],
    ['Transfer-Encoding after Content-Length', 'HTTP/1.1 400 x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING', "Transfer-Encoding can't be present with Content-Length"],
    ['a 20 KB header', `HTTP/1.1 101 x\r\nA: ${'b'.repeat(20000)}\r\n\r\n`, 'HPE_HEADER_OVERFLOW', 'Header overflow'],
    ['a 20 KB status line', `HTTP/1.1 101 ${'x'.repeat(20000)}\r\n\r\n`, 'HPE_HEADER_OVERFLOW', 'Header overflow'],
  ];
  for (const [name, text, code, reason] of cases) {
    it(`${name} -> 502, ${code}`, () => {
      const result = parseResponse(text);
      expect(result.kind).toBe('error');
      if (result.kind !== 'error') return;
      expect([result.error.status, result.error.code, result.error.message]).toEqual([502, code, reason]);
    });
  }
});

/** `buf` split at the sorted, distinct `cuts`. */
function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const sorted = [...new Set(cuts)].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of sorted) {
    pieces.push(buf.subarray(start, cut));
    start = cut;
  }
  pieces.push(buf.subarray(start));
  return pieces;
}

describe('chunking', () => {
  const inputs: Array<[string, string]> = [
    ['valid request with trailing frame bytes', `${REQUEST}\x81\x80abcd`],
    ['request with leading empty lines', `\r\n${REQUEST}`],
    ['bare CR', 'GET / HTTP/1.1\r\nA: b\rc\r\n\r\n'],
    ['bare LF', 'GET / HTTP/1.1\r\nA: b\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n'],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\n\r\n'],
  ];
  for (const [name, text] of inputs) {
    it(`gives the same result at every single split point and byte by byte: ${name}`, () => {
      const buf = Buffer.from(text, 'latin1');
      const whole = summary(new RequestHeadParser().push(buf));
      for (let cut = 0; cut <= buf.length; cut++) {
        expect(summary(feed(new RequestHeadParser(), splitAt(buf, [cut]))), `cut at ${cut}`).toEqual(whole);
      }
      const bytes = [...buf].map((b) => Buffer.from([b]));
      expect(summary(feed(new RequestHeadParser(), bytes))).toEqual(whole);
    });
  }

  it('reports the limit crossed first whatever the chunking (line vs head size)', () => {
    const text = `GET /${'x'.repeat(40)} HTTP/1.1\r\nA: ${'b'.repeat(40)}\r\n\r\n`;
    const buf = Buffer.from(text);
    for (const limits of [
      { maxLineLength: 30, maxHeadSize: 30 },
      { maxLineLength: 30, maxHeadSize: 31 },
      { maxLineLength: 31, maxHeadSize: 30 },
      { maxLineLength: 50, maxHeadSize: 60 },
      { maxLineLength: 50, maxHeadSize: 53 },
      { maxLineLength: 30, maxHeadSize: 54 },
    ]) {
      const whole = summary(new RequestHeadParser(limits).push(buf));
      for (let cut = 0; cut <= buf.length; cut++) {
        expect(summary(feed(new RequestHeadParser(limits), splitAt(buf, [cut]))), `${JSON.stringify(limits)} ${cut}`).toEqual(whole);
      }
      const bytes = [...buf].map((b) => Buffer.from([b]));
      expect(summary(feed(new RequestHeadParser(limits), bytes))).toEqual(whole);
    }
  });

  it('response: same result at every split point', () => {
    const buf = Buffer.from(`${RESPONSE}\x88\x00`, 'latin1');
    const whole = summary(new ResponseHeadParser().push(buf));
    expect(whole).not.toBe('incomplete');
    for (let cut = 0; cut <= buf.length; cut++) {
      expect(summary(feed(new ResponseHeadParser(), splitAt(buf, [cut])))).toEqual(whole);
    }
  });

  it('a maximal head fed one byte at a time completes (the scan position is kept across pushes)', () => {
    const line = `X: ${'a'.repeat(8000)}\r\n`;
    const text = `GET / HTTP/1.1\r\n${line}${line}\r\n`;
    const parser = new RequestHeadParser();
    const buf = Buffer.from(text);
    let result: HeadParseResult<unknown> = { kind: 'incomplete' };
    for (let i = 0; i < buf.length; i++) result = parser.push(buf.subarray(i, i + 1));
    expect(result.kind).toBe('complete');
  });
});

describe('properties', () => {
  const garbageByte = fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x47, 0x48),
  );
  const garbage = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.array(garbageByte, { maxLength: 300 }).map((a) => Uint8Array.from(a)),
    fc
      .tuple(fc.constantFrom('GET / HTTP/1.1\r\n', 'HTTP/1.1 101 OK\r\n', ''), fc.array(garbageByte, { maxLength: 300 }))
      .map(([prefix, a]) => Uint8Array.from([...Buffer.from(prefix), ...a])),
  );
  const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 20 });
  const limits = fc.record({
    maxHeadSize: fc.integer({ min: 1, max: 400 }),
    maxHeaders: fc.integer({ min: 1, max: 20 }),
    maxLineLength: fc.integer({ min: 1, max: 200 }),
  });

  it('random bytes under random chunkings never throw, end in a defined state, and agree with one push', () => {
    fc.assert(
      fc.property(garbage, cuts, fc.option(limits, { nil: undefined }), (bytes, cutList, lim) => {
        const buf = Buffer.from(bytes);
        const pieces = splitAt(buf, cutList.filter((c) => c <= buf.length));
        for (const make of [(): Parser<unknown> => new RequestHeadParser(lim), (): Parser<unknown> => new ResponseHeadParser(lim)]) {
          const whole = make().push(buf);
          const chunked = feed(make(), pieces);
          for (const r of [whole, chunked] as Array<HeadParseResult<unknown>>) {
            expect(['incomplete', 'complete', 'error']).toContain(r.kind);
            if (r.kind === 'error') {
              expect(r.error.status).toBeGreaterThanOrEqual(400);
              expect(r.error.status).toBeLessThan(600);
            }
          }
          expect(summary(chunked)).toEqual(summary(whole));
        }
      }),
      { numRuns: 1500, seed: 6455 },
    );
  });

  const token = fc.string({ unit: fc.constantFrom(...'abcXYZ019!#$%&\'*+-.^_`|~'.split('')), minLength: 1, maxLength: 12 });
  const valueChar = fc.oneof(
    fc.integer({ min: 0x21, max: 0x7e }),
    fc.integer({ min: 0x80, max: 0xff }),
    fc.constantFrom(0x20, 0x09),
  );
  const value = fc
    .array(valueChar, { maxLength: 30 })
    .map((codes) => String.fromCharCode(...codes).replace(/^[ \t]+|[ \t]+$/g, ''));
  const target = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 });
  const ows = fc.constantFrom('', ' ', '\t', '  \t');

  it('a generated valid request parses back to the same fields under any chunking', () => {
    fc.assert(
      fc.property(
        token,
        target,
        fc.array(fc.tuple(token, ows, value, ows), { maxLength: 15 }),
        fc.uint8Array({ maxLength: 20 }),
        cuts,
        (method, tgt, fields, tail, cutList) => {
          let text = `${method} ${tgt} HTTP/1.1\r\n`;
          for (const [name, before, v, after] of fields) text += `${name}:${before}${v}${after}\r\n`;
          text += '\r\n';
          const buf = Buffer.concat([Buffer.from(text, 'latin1'), tail]);
          const result = feed(new RequestHeadParser(), splitAt(buf, cutList.filter((c) => c <= buf.length)));
          expect(result.kind).toBe('complete');
          if (result.kind !== 'complete') return;
          expect(result.head.method).toBe(method);
          expect(result.head.target).toBe(tgt);
          expect(result.head.version).toBe('1.1');
          expect(result.head.rawHeaders).toEqual(fields.flatMap(([name, , v]) => [name, v]));
          const expected = new Map<string, string[]>();
          for (const [name, , v] of fields) {
            const key = name.toLowerCase();
            expected.set(key, [...(expected.get(key) ?? []), v]);
          }
          expect(result.head.headers).toEqual(expected);
          expect(Buffer.compare(result.rest, tail)).toBe(0);
        },
      ),
      { numRuns: 500, seed: 9112 },
    );
  });
});
