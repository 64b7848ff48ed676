// `extension.parse` and `extension.format` side by side with `ws`'s on the same inputs.
import { describe, expect, test } from 'vitest';
import * as ws from 'ws';
import { format, parse } from '../../../src/api/ws-compat/extension-header.js';
import { allStrings, outcome } from './header-inputs.js';

interface WsExtension {
  parse(header: string): unknown;
  format(extensions: object): string;
}
const wsExtension = (ws as unknown as { extension: WsExtension }).extension;

describe('extension.parse', () => {
  test("gives ws's shape: null-prototype objects, arrays of offers and of values, true for a bare parameter", () => {
    const header = 'permessage-deflate; client_max_window_bits; server_max_window_bits="10", permessage-deflate, x-foo;a=1;a=2';
    const result = parse(header) as Record<string, Array<Record<string, unknown>>>;
    expect(Object.getPrototypeOf(result)).toBeNull();
    expect(Object.getPrototypeOf(result['permessage-deflate']![0])).toBeNull();
    expect(JSON.parse(JSON.stringify(result))).toEqual({
      'permessage-deflate': [{ client_max_window_bits: [true], server_max_window_bits: ['10'] }, {}],
      'x-foo': [{ a: ['1', '2'] }],
    });
    expect(JSON.stringify(result)).toBe(JSON.stringify(wsExtension.parse(header)));
  });

  test('a name like __proto__ is just a name', () => {
    const result = parse('__proto__; constructor=1') as Record<string, Array<Record<string, unknown>>>;
    expect(result['__proto__']).toEqual([expect.anything()]);
    expect(result['__proto__']![0]!['constructor']).toEqual(['1']);
  });

  test.each([
    ['', 'SyntaxError: Unexpected end of input'],
    ['foo;bar="baz', 'SyntaxError: Unexpected end of input'],
    ['foo; bar= baz', 'SyntaxError: Unexpected character at index 9'],
    ['foo;bar=""', 'SyntaxError: Unexpected character at index 9'],
    ['foo;bar="a b"', 'SyntaxError: Unexpected character at index 10'],
  ])('%j: %s, as ws', (header, expected) => {
    expect(outcome(parse, header)).toBe(expected);
    expect(outcome(wsExtension.parse, header)).toBe(expected);
  });

  test('every string of up to 5 characters over a header alphabet: the same result or error as ws', () => {
    const inputs = allStrings(['a', ' ', ',', ';', '=', '"', '\\', '@'], 5);
    const differences = inputs.filter((header) => outcome(parse, header) !== outcome(wsExtension.parse, header));
    expect(inputs.length).toBeGreaterThan(30_000);
    expect(differences.slice(0, 5).map((header) => [header, outcome(parse, header), outcome(wsExtension.parse, header)])).toEqual([]);
  });
});

describe('extension.format', () => {
  test.each([
    [{ 'permessage-deflate': { client_max_window_bits: true, server_max_window_bits: 10 } }],
    [{ foo: [{ a: [1, 2], b: true }, {}], bar: {} }],
    [{}],
  ])('%j formats as ws formats it', (extensions) => {
    expect(format(extensions)).toBe(wsExtension.format(extensions));
  });

  test('rfc6455: a name or value that is not a token throws TypeError (ws would put it on the wire)', () => {
    expect(() => format({ foo: { a: 'x\r\nInjected: 1' } })).toThrow(TypeError);
    expect(() => format({ 'foo bar': {} })).toThrow(TypeError);
    expect(wsExtension.format({ 'foo bar': {} })).toBe('foo bar');
  });
});
