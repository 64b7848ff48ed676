import { describe, expect, it } from 'vitest';
import {
  acceptExtensions,
  negotiateExtensions,
  type ClientExtensionNegotiator,
  type Extension,
  type ServerExtensionNegotiator,
} from '../../src/extensions/extension.js';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';
import type { ExtensionOffer } from '../../src/handshake/token-list.js';
import { formatExtensions, parseExtensions } from '../../src/handshake/token-list.js';

/** A stand-in extension that records whether it was closed. */
function fakeExtension(name: string): Extension & { closed: boolean } {
  return {
    name,
    rsv1: true,
    closed: false,
    shouldCompress: () => true,
    decompress: () => {},
    compress: () => {},
    close() {
      this.closed = true;
    },
  };
}

/** Accepts the first offer that has a parameter `ok`; records what it was given. */
function fakeServer(name: string): ServerExtensionNegotiator & { seen: ExtensionOffer[][] } {
  return {
    name,
    seen: [],
    negotiate(offers) {
      this.seen.push([...offers]);
      const offer = offers.find((o) => o.params.some(([k]) => k === 'ok'));
      return offer ? { response: { name, params: [['ok', true]] }, extension: fakeExtension(name) } : null;
    },
  };
}

function fakeClient(name: string): ClientExtensionNegotiator {
  return {
    name,
    offer: () => ({ name, params: [] }),
    accept: (response) => (response.params.length === 0 ? fakeExtension(name) : new Error('bad params')),
  };
}

const offers = (header: string) => parseExtensions([header])!;

describe('negotiateExtensions (server)', () => {
  it('hands each negotiator only the offers of its name, in the client’s order', () => {
    const a = fakeServer('a');
    negotiateExtensions([a], offers('b; ok, a; x=1, a; ok, c'));
    expect(a.seen).toEqual([[{ name: 'a', params: [['x', '1']] }, { name: 'a', params: [['ok', true]] }]]);
  });

  it('accepts at most one extension (they all claim RSV1), in the server’s order of preference', () => {
    const a = fakeServer('a');
    const b = fakeServer('b');
    const result = negotiateExtensions([b, a], offers('a; ok, b; ok'));
    expect(result.responses).toEqual([{ name: 'b', params: [['ok', true]] }]);
    expect(result.extensions.map((e) => e.name)).toEqual(['b']);
    expect(a.seen).toEqual([]);
  });

  it('falls through to the next negotiator when one declines', () => {
    const result = negotiateExtensions([fakeServer('a'), fakeServer('b')], offers('a, b; ok'));
    expect(result.responses.map((r) => r.name)).toEqual(['b']);
  });

  it('no offers, or none acceptable: an empty answer', () => {
    expect(negotiateExtensions([fakeServer('a')], [])).toEqual({ responses: [], extensions: [] });
    expect(negotiateExtensions([fakeServer('a')], offers('a, z; ok'))).toEqual({ responses: [], extensions: [] });
    expect(negotiateExtensions([], offers('a; ok'))).toEqual({ responses: [], extensions: [] });
  });

  it('with permessage-deflate, from a real header to a real answer', () => {
    const header = 'permessage-deflate; client_max_window_bits=16, permessage-deflate; client_max_window_bits; server_no_context_takeover, x-webkit-deflate-frame';
    const result = negotiateExtensions([new PerMessageDeflate()], offers(header));
    expect(formatExtensions(result.responses)).toBe('permessage-deflate; server_no_context_takeover');
    expect(result.extensions).toHaveLength(1);
    result.extensions[0]!.close();
  });
});

describe('acceptExtensions (client)', () => {
  it('no answer: no extension', () => {
    expect(acceptExtensions([fakeClient('a')], [])).toEqual([]);
  });

  it('an answer to our offer', () => {
    const result = acceptExtensions([fakeClient('a'), fakeClient('b')], offers('b'));
    expect(result).not.toBeInstanceOf(Error);
    expect((result as Extension[]).map((e) => e.name)).toEqual(['b']);
  });

  it.each([
    ['an extension we did not offer', 'z'],
    ['two extensions', 'a, b'],
    ['the same extension twice', 'a, a'],
    ['an answer the negotiator refuses', 'a; nope'],
  ])('fails on %s (RFC 6455 §9.1)', (_title, header) => {
    expect(acceptExtensions([fakeClient('a'), fakeClient('b')], offers(header))).toBeInstanceOf(Error);
  });

  it('with permessage-deflate', () => {
    const pmd = new PerMessageDeflate();
    expect(formatExtensions([pmd.offer()])).toBe('permessage-deflate; client_max_window_bits');
    const ok = acceptExtensions([pmd], offers('permessage-deflate; client_max_window_bits=10'));
    expect(ok).toHaveLength(1);
    (ok as Extension[])[0]!.close();
    expect(acceptExtensions([pmd], offers('permessage-deflate; client_max_window_bits'))).toBeInstanceOf(Error);
  });
});
