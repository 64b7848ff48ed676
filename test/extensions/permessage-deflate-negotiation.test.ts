import { describe, expect, it } from 'vitest';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../../src/extensions/permessage-deflate.js';
import type { PerMessageDeflateCodec } from '../../src/extensions/permessage-deflate-codec.js';
import { formatExtensions, parseExtensions } from '../../src/handshake/token-list.js';

function parse(header: string) {
  const offers = parseExtensions([header]);
  if (offers === null) throw new Error(`bad header in test: ${header}`);
  return offers;
}

/** The server's answer to `header`, formatted, or null when it declines. */
function serverAnswer(options: PerMessageDeflateOptions | true, header: string): string | null {
  const result = new PerMessageDeflate(options).negotiate(parse(header));
  if (result === null) return null;
  result.extension.close();
  return formatExtensions([result.response]);
}

/** The client's view of the server's answer: the agreed parameters, or the error message. */
function clientAccept(options: PerMessageDeflateOptions, header: string): string | Error {
  const [response] = parse(header);
  const result = new PerMessageDeflate(options).accept(response!);
  if (result instanceof Error) return result;
  result.close();
  return formatExtensions([(result as PerMessageDeflateCodec).params]);
}

const PMD = 'permessage-deflate';

describe('server negotiation (RFC 7692 §7.1, ws semantics for the options)', () => {
  const table: Array<[string, PerMessageDeflateOptions | true, string, string | null]> = [
    // [title, options, offers, expected answer (null = declined)]
    ['plain offer', {}, PMD, PMD],
    ['true = defaults', true, `${PMD}; client_max_window_bits`, PMD],
    ['client_max_window_bits without value is not answered', {}, `${PMD}; client_max_window_bits`, PMD],
    ['client_max_window_bits value is echoed', {}, `${PMD}; client_max_window_bits=10`, `${PMD}; client_max_window_bits=10`],
    ['server_max_window_bits is granted', {}, `${PMD}; server_max_window_bits=8`, `${PMD}; server_max_window_bits=8`],
    ['server_no_context_takeover is granted', {}, `${PMD}; server_no_context_takeover`, `${PMD}; server_no_context_takeover`],
    ['client_no_context_takeover hint is echoed', {}, `${PMD}; client_no_context_takeover`, `${PMD}; client_no_context_takeover`],
    [
      'all four, answered in the offer\'s order (as ws)',
      {},
      `${PMD}; client_max_window_bits=9; server_max_window_bits=12; client_no_context_takeover; server_no_context_takeover`,
      `${PMD}; client_max_window_bits=9; server_max_window_bits=12; client_no_context_takeover; server_no_context_takeover`,
    ],
    [
      'the offer\'s parameters first, then those the server adds (as ws)',
      { serverNoContextTakeover: true, clientMaxWindowBits: 10 },
      `${PMD}; server_max_window_bits=12; client_max_window_bits`,
      `${PMD}; server_max_window_bits=12; client_max_window_bits=10; server_no_context_takeover`,
    ],
    ['quoted value', {}, `${PMD}; server_max_window_bits="10"`, `${PMD}; server_max_window_bits=10`],
    ['server_max_window_bits without value', {}, `${PMD}; server_max_window_bits`, null],
    ['server_max_window_bits=7', {}, `${PMD}; server_max_window_bits=7`, null],
    ['server_max_window_bits=16', {}, `${PMD}; server_max_window_bits=16`, null],
    ['leading zero', {}, `${PMD}; server_max_window_bits=08`, null],
    ['hex', {}, `${PMD}; server_max_window_bits=0x9`, null],
    ['client_max_window_bits=16', {}, `${PMD}; client_max_window_bits=16`, null],
    ['client_max_window_bits=abc', {}, `${PMD}; client_max_window_bits=abc`, null],
    ['unknown parameter', {}, `${PMD}; foo`, null],
    ['__proto__ parameter', {}, `${PMD}; __proto__=1`, null],
    ['no_context_takeover with a value', {}, `${PMD}; server_no_context_takeover=1`, null],
    ['client_no_context_takeover with a value', {}, `${PMD}; client_no_context_takeover=true`, null],
    ['repeated parameter', {}, `${PMD}; server_no_context_takeover; server_no_context_takeover`, null],
    ['repeated window', {}, `${PMD}; client_max_window_bits=10; client_max_window_bits=10`, null],
    ['invalid first offer is skipped', {}, `${PMD}; server_max_window_bits=16, ${PMD}; client_max_window_bits`, PMD],
    [
      'first acceptable offer wins',
      {},
      `${PMD}; bogus, ${PMD}; server_no_context_takeover, ${PMD}`,
      `${PMD}; server_no_context_takeover`,
    ],
    ['other extension names are ignored', {}, 'x-webkit-deflate-frame', null],
    // serverNoContextTakeover
    ['serverNoContextTakeover: true', { serverNoContextTakeover: true }, PMD, `${PMD}; server_no_context_takeover`],
    ['serverNoContextTakeover: false declines a request', { serverNoContextTakeover: false }, `${PMD}; server_no_context_takeover`, null],
    [
      'serverNoContextTakeover: false takes the next offer',
      { serverNoContextTakeover: false },
      `${PMD}; server_no_context_takeover, ${PMD}`,
      PMD,
    ],
    // clientNoContextTakeover
    ['clientNoContextTakeover: true', { clientNoContextTakeover: true }, PMD, `${PMD}; client_no_context_takeover`],
    ['clientNoContextTakeover: false still echoes the hint', { clientNoContextTakeover: false }, `${PMD}; client_no_context_takeover`, `${PMD}; client_no_context_takeover`],
    // serverMaxWindowBits
    ['serverMaxWindowBits: 10, not asked', { serverMaxWindowBits: 10 }, PMD, `${PMD}; server_max_window_bits=10`],
    ['serverMaxWindowBits: 10, asked 12', { serverMaxWindowBits: 10 }, `${PMD}; server_max_window_bits=12`, `${PMD}; server_max_window_bits=10`],
    ['serverMaxWindowBits: 10, asked 10', { serverMaxWindowBits: 10 }, `${PMD}; server_max_window_bits=10`, `${PMD}; server_max_window_bits=10`],
    ['serverMaxWindowBits: 10, asked 9', { serverMaxWindowBits: 10 }, `${PMD}; server_max_window_bits=9`, null],
    ['serverMaxWindowBits: false, asked', { serverMaxWindowBits: false }, `${PMD}; server_max_window_bits=12`, null],
    ['serverMaxWindowBits: false, not asked', { serverMaxWindowBits: false }, PMD, PMD],
    ['serverMaxWindowBits: true, asked', { serverMaxWindowBits: true }, `${PMD}; server_max_window_bits=11`, `${PMD}; server_max_window_bits=11`],
    // clientMaxWindowBits
    ['clientMaxWindowBits: 10, not offered', { clientMaxWindowBits: 10 }, PMD, null],
    ['clientMaxWindowBits: 10, offered without value', { clientMaxWindowBits: 10 }, `${PMD}; client_max_window_bits`, `${PMD}; client_max_window_bits=10`],
    ['clientMaxWindowBits: 10, offered 12', { clientMaxWindowBits: 10 }, `${PMD}; client_max_window_bits=12`, `${PMD}; client_max_window_bits=10`],
    ['clientMaxWindowBits: 10, offered 9', { clientMaxWindowBits: 10 }, `${PMD}; client_max_window_bits=9`, null],
    ['clientMaxWindowBits: false', { clientMaxWindowBits: false }, `${PMD}; client_max_window_bits=12`, PMD],
    ['clientMaxWindowBits: true echoes a value', { clientMaxWindowBits: true }, `${PMD}; client_max_window_bits=12`, `${PMD}; client_max_window_bits=12`],
  ];

  it.each(table)('%s', (_title, options, offers, expected) => {
    expect(serverAnswer(options, offers)).toBe(expected);
  });

  it('every answer is one our default client accepts', () => {
    for (const [, , , expected] of table) {
      if (expected !== null) expect(clientAccept({}, expected)).not.toBeInstanceOf(Error);
    }
  });
});

describe('client offer', () => {
  it.each<[PerMessageDeflateOptions | true, string]>([
    [{}, `${PMD}; client_max_window_bits`],
    [true, `${PMD}; client_max_window_bits`],
    [{ clientMaxWindowBits: false }, PMD],
    [{ serverMaxWindowBits: true, clientMaxWindowBits: true }, `${PMD}; client_max_window_bits`],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
      `${PMD}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11`,
    ],
    [{ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: false }, `${PMD}; client_max_window_bits`],
  ])('%j -> %s', (options, expected) => {
    expect(formatExtensions([new PerMessageDeflate(options).offer()])).toBe(expected);
  });
});

describe('client acceptance of the answer (RFC 7692 §5, §7.1)', () => {
  const ok: Array<[string, PerMessageDeflateOptions, string, string]> = [
    // [title, options, answer, agreed parameters]
    ['plain', {}, PMD, PMD],
    ['unrequested server_no_context_takeover', {}, `${PMD}; server_no_context_takeover`, `${PMD}; server_no_context_takeover`],
    ['client_no_context_takeover asked by the server', {}, `${PMD}; client_no_context_takeover`, `${PMD}; client_no_context_takeover`],
    ['unrequested server_max_window_bits', {}, `${PMD}; server_max_window_bits=10`, `${PMD}; server_max_window_bits=10`],
    ['client_max_window_bits set by the server', {}, `${PMD}; client_max_window_bits=10`, `${PMD}; client_max_window_bits=10`],
    ['clientMaxWindowBits: 10, answered 10', { clientMaxWindowBits: 10 }, `${PMD}; client_max_window_bits=10`, `${PMD}; client_max_window_bits=10`],
    ['clientMaxWindowBits: 10, answered 9', { clientMaxWindowBits: 10 }, `${PMD}; client_max_window_bits=9`, `${PMD}; client_max_window_bits=9`],
    ['clientMaxWindowBits: 10, not answered: we keep our 10', { clientMaxWindowBits: 10 }, PMD, `${PMD}; client_max_window_bits=10`],
    ['serverNoContextTakeover: true, answered', { serverNoContextTakeover: true }, `${PMD}; server_no_context_takeover`, `${PMD}; server_no_context_takeover`],
    ['serverMaxWindowBits: 10, answered 10', { serverMaxWindowBits: 10 }, `${PMD}; server_max_window_bits=10`, `${PMD}; server_max_window_bits=10`],
    ['serverMaxWindowBits: 10, answered 9', { serverMaxWindowBits: 10 }, `${PMD}; server_max_window_bits=9`, `${PMD}; server_max_window_bits=9`],
    ['clientNoContextTakeover: true binds us without an echo', { clientNoContextTakeover: true }, PMD, `${PMD}; client_no_context_takeover`],
    ['quoted value', {}, `${PMD}; server_max_window_bits="12"`, `${PMD}; server_max_window_bits=12`],
  ];
  it.each(ok)('accepts: %s', (_title, options, answer, agreed) => {
    expect(clientAccept(options, answer)).toBe(agreed);
  });

  const bad: Array<[string, PerMessageDeflateOptions, string]> = [
    ['client_max_window_bits without a value', {}, `${PMD}; client_max_window_bits`],
    ['server_max_window_bits without a value', {}, `${PMD}; server_max_window_bits`],
    ['server_max_window_bits=16', {}, `${PMD}; server_max_window_bits=16`],
    ['client_max_window_bits=7', {}, `${PMD}; client_max_window_bits=7`],
    ['unknown parameter', {}, `${PMD}; foo=bar`],
    ['repeated parameter', {}, `${PMD}; server_no_context_takeover; server_no_context_takeover`],
    ['no_context_takeover with a value', {}, `${PMD}; server_no_context_takeover=yes`],
    ['client_max_window_bits not offered', { clientMaxWindowBits: false }, `${PMD}; client_max_window_bits=10`],
    ['client_max_window_bits larger than offered', { clientMaxWindowBits: 10 }, `${PMD}; client_max_window_bits=11`],
    ['client_no_context_takeover refused by options', { clientNoContextTakeover: false }, `${PMD}; client_no_context_takeover`],
    ['server_no_context_takeover requested, not answered', { serverNoContextTakeover: true }, PMD],
    ['server_max_window_bits requested, not answered', { serverMaxWindowBits: 10 }, PMD],
    ['server_max_window_bits larger than requested', { serverMaxWindowBits: 10 }, `${PMD}; server_max_window_bits=11`],
    ['another extension name', {}, 'x-foo'],
  ];
  it.each(bad)('fails: %s', (_title, options, answer) => {
    expect(clientAccept(options, answer)).toBeInstanceOf(Error);
  });
});

describe('options', () => {
  it.each<[string, PerMessageDeflateOptions]>([
    ['serverMaxWindowBits 7', { serverMaxWindowBits: 7 }],
    ['serverMaxWindowBits 16', { serverMaxWindowBits: 16 }],
    ['clientMaxWindowBits 9.5', { clientMaxWindowBits: 9.5 }],
    ['threshold -1', { threshold: -1 }],
    ['threshold NaN', { threshold: Number.NaN }],
    ['concurrencyLimit 0', { concurrencyLimit: 0 }],
    ['concurrencyLimit 1.5', { concurrencyLimit: 1.5 }],
    ['level 10', { zlibDeflateOptions: { level: 10 } }],
    ['memLevel 0', { zlibDeflateOptions: { memLevel: 0 } }],
    ['strategy 5', { zlibDeflateOptions: { strategy: 5 } }],
    ['deflate chunkSize 10', { zlibDeflateOptions: { chunkSize: 10 } }],
    ['inflate chunkSize 10', { zlibInflateOptions: { chunkSize: 10 } }],
  ])('rejects %s', (_title, options) => {
    expect(() => new PerMessageDeflate(options)).toThrow(RangeError);
  });

  it('accepts the documented forms', () => {
    expect(() => new PerMessageDeflate()).not.toThrow();
    expect(() => new PerMessageDeflate(true)).not.toThrow();
    expect(
      () =>
        new PerMessageDeflate({
          serverMaxWindowBits: 8,
          clientMaxWindowBits: 15,
          threshold: 0,
          concurrencyLimit: 1,
          zlibDeflateOptions: { level: 1, memLevel: 9, strategy: 0, chunkSize: 1024 },
          zlibInflateOptions: { chunkSize: 10 * 1024 },
        }),
    ).not.toThrow();
  });

  it('does not keep a reference to the caller’s options object', () => {
    const options: PerMessageDeflateOptions = { serverNoContextTakeover: false };
    const negotiator = new PerMessageDeflate(options);
    options.serverNoContextTakeover = true;
    expect(formatExtensions([negotiator.offer()])).toBe(`${PMD}; client_max_window_bits`);
  });
});
