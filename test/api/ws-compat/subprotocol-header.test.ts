// `subprotocol.parse` side by side with `ws`'s on the same inputs, valid and invalid.
import { describe, expect, test } from 'vitest';
import * as ws from 'ws';
import { parse } from '../../../src/api/ws-compat/subprotocol-header.js';
import { allStrings, outcome } from './header-inputs.js';

const wsParse = (ws as unknown as { subprotocol: { parse(header: string): Set<string> } }).subprotocol.parse;

describe('subprotocol.parse', () => {
  test('returns a Set of the names in order', () => {
    const result = parse('chat, superchat,\tv2.json');
    expect(result).toBeInstanceOf(Set);
    expect([...result]).toEqual(['chat', 'superchat', 'v2.json']);
  });

  test.each([
    ['', 'SyntaxError: Unexpected end of input'],
    [' chat', 'SyntaxError: Unexpected character at index 0'],
    ['chat ', 'SyntaxError: Unexpected end of input'],
    ['a,,b', 'SyntaxError: Unexpected character at index 2'],
    ['a b', 'SyntaxError: Unexpected character at index 2'],
    ['chat,chat', 'SyntaxError: The "chat" subprotocol is duplicated'],
  ])('%j: %s, as ws', (header, expected) => {
    expect(outcome(parse, header)).toBe(expected);
    expect(outcome(wsParse, header)).toBe(expected);
  });

  test('every string of up to 5 characters over a header alphabet: the same result or error as ws', () => {
    const inputs = allStrings(['a', 'b', ' ', '\t', ',', ';', '@', 'é'], 5);
    const differences = inputs.filter((header) => outcome(parse, header) !== outcome(wsParse, header));
    expect(inputs.length).toBeGreaterThan(30_000);
    expect(differences.slice(0, 5).map((header) => [header, outcome(parse, header), outcome(wsParse, header)])).toEqual([]);
  });
});
