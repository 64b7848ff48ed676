import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ExtensionOffer,
  formatExtensions,
  parseExtensions,
  parseTokenList,
  parseUpgradeList,
} from '../../src/handshake/token-list.js';

describe('parseTokenList', () => {
  const valid: Array<[string[], string[]]> = [
    [['a'], ['a']],
    [['a,b'], ['a', 'b']],
    [['a , b\t,\tc'], ['a', 'b', 'c']],
    [[' a '], ['a']],
    [[',a,,b,'], ['a', 'b']],
    [[', ,'], []],
    [[''], []],
    [['a', 'b, c'], ['a', 'b', 'c']],
    [["!#$%&'*+-.^_`|~09AZaz"], ["!#$%&'*+-.^_`|~09AZaz"]],
    [['keep-alive, Upgrade'], ['keep-alive', 'Upgrade']],
    [[], []],
  ];
  for (const [input, expected] of valid) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      expect(parseTokenList(input)).toEqual(expected);
    });
  }

  const invalid = ['a b', 'a;b', 'a/b', '"a"', 'a,b c', 'a=b', 'caf\xe9', 'a\x00', '(a)', 'a,\x7f'];
  for (const input of invalid) {
    it(`${JSON.stringify(input)} -> null`, () => {
      expect(parseTokenList([input])).toBeNull();
      expect(parseTokenList(['ok', input])).toBeNull();
    });
  }
});

describe('parseUpgradeList', () => {
  it('accepts protocol-name ["/" protocol-version] elements', () => {
    expect(parseUpgradeList(['websocket'])).toEqual(['websocket']);
    expect(parseUpgradeList(['HTTP/2.0, SHTTP/1.3, IRC/6.9, RTA/x11'])).toEqual(['HTTP/2.0', 'SHTTP/1.3', 'IRC/6.9', 'RTA/x11']);
    expect(parseUpgradeList(['h2c', ' , WebSocket'])).toEqual(['h2c', 'WebSocket']);
  });
  it('rejects malformed elements', () => {
    for (const bad of ['a/', '/b', 'a/b/c', 'a b', 'a /b', 'a/ b', 'web socket']) {
      expect(parseUpgradeList([bad]), bad).toBeNull();
    }
  });
});

describe('parseExtensions', () => {
  const valid: Array<[string[], ExtensionOffer[]]> = [
    [['permessage-deflate'], [{ name: 'permessage-deflate', params: [] }]],
    [
      ['permessage-deflate; client_max_window_bits'],
      [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }],
    ],
    [
      ['permessage-deflate;client_max_window_bits=10;server_no_context_takeover'],
      [
        {
          name: 'permessage-deflate',
          params: [
            ['client_max_window_bits', '10'],
            ['server_no_context_takeover', true],
          ],
        },
      ],
    ],
    [['foo ; a = 1 ;\tb\t=\t"2" ; c'], [{ name: 'foo', params: [['a', '1'], ['b', '2'], ['c', true]] }]],
    [['foo; a="x\\yz"'], [{ name: 'foo', params: [['a', 'xyz']] }]],
    [['foo; a="\\1\\0"'], [{ name: 'foo', params: [['a', '10']] }]],
    [['foo; a="tok-en.1"'], [{ name: 'foo', params: [['a', 'tok-en.1']] }]],
    [
      ['permessage-deflate; server_max_window_bits=10, permessage-deflate'],
      [
        { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
        { name: 'permessage-deflate', params: [] },
      ],
    ],
    [
      ['a; x', 'b, c; y=1'],
      [
        { name: 'a', params: [['x', true]] },
        { name: 'b', params: [] },
        { name: 'c', params: [['y', '1']] },
      ],
    ],
    [[' , a , '], [{ name: 'a', params: [] }]],
    [['a; x; x=1'], [{ name: 'a', params: [['x', true], ['x', '1']] }]],
    [['__proto__; constructor=toString'], [{ name: '__proto__', params: [['constructor', 'toString']] }]],
    [[''], []],
  ];
  for (const [input, expected] of valid) {
    it(`${JSON.stringify(input)}`, () => {
      expect(parseExtensions(input)).toEqual(expected);
    });
  }

  const invalid = [
    ';',
    'a;',
    'a; ',
    'a;;b',
    'a; =1',
    'a; b=',
    'a; b= ,c',
    'a b',
    'a; b c',
    'a; b=1 2',
    'a; b="1',
    'a; b="1"x',
    'a; b="1" "2"',
    'a; b=""',
    'a; b="1 2"',
    'a; b="1,2"',
    'a; b="x\\"y"',
    'a; b="\\',
    'a; b="caf\xe9"',
    'a; b="x\x00"',
    'a; b=\x01',
    'a=1',
    '"a"',
    'a; "b"=1',
    'a; b=c=d',
    'a; b/c',
    'caf\xe9',
  ];
  for (const input of invalid) {
    it(`${JSON.stringify(input)} -> null`, () => {
      expect(parseExtensions([input])).toBeNull();
      expect(parseExtensions(['ok', input])).toBeNull();
    });
  }

  it('is linear on long adversarial input (no backtracking)', () => {
    const long = `a; b="${'\\a'.repeat(50000)}`;
    expect(parseExtensions([long])).toBeNull();
    const many = `x${'; p'.repeat(50000)}`;
    expect(parseExtensions([many])?.[0].params.length).toBe(50000);
  });
});

describe('formatExtensions', () => {
  it('formats offers and parameters', () => {
    expect(formatExtensions([])).toBe('');
    expect(
      formatExtensions([
        { name: 'permessage-deflate', params: [['client_max_window_bits', true], ['server_max_window_bits', '10']] },
        { name: 'permessage-deflate', params: [] },
      ]),
    ).toBe('permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate');
  });

  it('throws TypeError on names or values that are not tokens', () => {
    expect(() => formatExtensions([{ name: 'a b', params: [] }])).toThrow(TypeError);
    expect(() => formatExtensions([{ name: 'a', params: [['b;', true]] }])).toThrow(TypeError);
    expect(() => formatExtensions([{ name: 'a', params: [['b', '1\r\nX: y']] }])).toThrow(TypeError);
    expect(() => formatExtensions([{ name: 'a', params: [['b', '']] }])).toThrow(TypeError);
  });

  it('round-trips through parseExtensions', () => {
    const token = fc.string({ unit: fc.constantFrom(...'abcXYZ019!#$%&\'*+-.^_`|~'.split('')), minLength: 1, maxLength: 10 });
    const offer = fc.record({
      name: token,
      params: fc.array(fc.tuple(token, fc.oneof(token, fc.constant(true as const))), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(offer, { minLength: 1, maxLength: 5 }), (offers) => {
        expect(parseExtensions([formatExtensions(offers)])).toEqual(offers);
      }),
      { numRuns: 300, seed: 91 },
    );
  });
});
