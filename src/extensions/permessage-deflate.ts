/**
 * permessage-deflate (RFC 7692): options and the negotiation of its four parameters, on both sides.
 * The negotiated codec lives in `permessage-deflate-codec.ts`.
 *
 * Option names, defaults and the server's choice of answer follow `ws` (v8), so a `ws` configuration
 * negotiates the same way here. Where `ws` is more lenient than RFC 7692 this side is strict:
 *  - a server skips an offer it cannot accept (unknown, repeated or malformed parameter, or one its
 *    options forbid) and tries the next one; when none is acceptable the connection goes on
 *    uncompressed (RFC 7692 §5: the server declines), where `ws` answers 400;
 *  - a client fails the connection on an answer that is not a valid reply to its offer: unknown,
 *    repeated or malformed parameters, `client_max_window_bits` without a value, larger than offered or
 *    not offered, `server_max_window_bits` missing or larger than requested, `server_no_context_takeover`
 *    missing when requested (RFC 7692 §7.1.1.1, §7.1.2.1: a server accepts such an offer by echoing it).
 * Window sizes are exactly the tokens "8" to "15" (RFC 7692 §7.1.2: no leading zeros).
 */
import type { ZlibOptions } from 'node:zlib';
import type { ExtensionOffer } from '../handshake/token-list.js';
import { sharedLimiter } from './concurrency-limiter.js';
import type { ClientExtensionNegotiator, Extension, ServerExtensionNegotiator } from './extension.js';
import { PerMessageDeflateCodec, type CodecConfig } from './permessage-deflate-codec.js';

export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** The `perMessageDeflate` options (RFC 7692), with `ws`'s names and defaults: see the README's table. */
export interface PerMessageDeflateOptions {
  /**
   * Server: true = always answer `server_no_context_takeover`; false = decline offers that ask for it;
   * unset = grant it when asked. Client: true = ask for it. Default unset.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: true = always answer `client_no_context_takeover`; otherwise echo the client's hint.
   * Client: true = offer it (and compress without context takeover even if the server does not echo
   * it); false = fail when the server asks for it. Default unset.
   */
  clientNoContextTakeover?: boolean;
  /**
   * The server's LZ77 window, 8-15. Server: a number = answer it, declining offers that ask for a
   * smaller one; false = decline offers that carry `server_max_window_bits`; true/unset = grant what is
   * asked. Client: a number = ask for it. Default unset (15).
   */
  serverMaxWindowBits?: boolean | number;
  /**
   * The client's LZ77 window, 8-15. Server: a number = answer it, declining offers that do not allow
   * it (no `client_max_window_bits`, or a smaller value); false = never limit the client; true/unset =
   * echo a value the client offered. Client: a number = offer it; true/unset = offer
   * `client_max_window_bits` without a value; false = do not offer it. Default unset.
   */
  clientMaxWindowBits?: boolean | number;
  /**
   * Tuning of our compressor: `level`, `memLevel`, `strategy`, `chunkSize` are used; the window comes
   * from the negotiation and the other zlib options are ignored. Default: zlib's defaults.
   */
  zlibDeflateOptions?: ZlibOptions;
  /** Tuning of our decompressor: `chunkSize` is used, the rest ignored. Default: zlib's defaults. */
  zlibInflateOptions?: ZlibOptions;
  /**
   * When our side compresses without context takeover, messages smaller than this many bytes are sent
   * uncompressed (as in `ws`; with context takeover every message is compressed). Default 1024.
   */
  threshold?: number;
  /**
   * Most zlib operations running at once, process-wide, for all instances with the same limit.
   * Default 10.
   */
  concurrencyLimit?: number;
}

/** Parsed parameters of one offer or answer (RFC 7692 §7.1). */
interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  /** true: present without a value (only valid in an offer). */
  clientMaxWindowBits: number | true | undefined;
}

const WINDOW_BITS = new Map<string, number>([
  ['8', 8],
  ['9', 9],
  ['10', 10],
  ['11', 11],
  ['12', 12],
  ['13', 13],
  ['14', 14],
  ['15', 15],
]);

/** RFC 7692 §7.1: the parameters of one element, or the reason it is malformed. */
function parseParams(element: ExtensionOffer): DeflateParams | string {
  const p: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of element.params) {
    // RFC 7692 §7: an offer or answer with a parameter given twice is invalid.
    if (seen.has(name)) return `parameter ${name} given twice`;
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        // RFC 7692 §7.1.1: these parameters have no value.
        if (value !== true) return `parameter ${name} must not have a value`;
        if (name === 'server_no_context_takeover') p.serverNoContextTakeover = true;
        else p.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        // RFC 7692 §7.1.2.1: a value from 8 to 15 is required.
        const bits = value === true ? undefined : WINDOW_BITS.get(value);
        if (bits === undefined) return `invalid server_max_window_bits: ${String(value)}`;
        p.serverMaxWindowBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        // RFC 7692 §7.1.2.2: no value, or a value from 8 to 15.
        const bits = value === true ? true : WINDOW_BITS.get(value);
        if (bits === undefined) return `invalid client_max_window_bits: ${value as string}`;
        p.clientMaxWindowBits = bits;
        break;
      }
      default:
        // RFC 7692 §7: an unknown parameter makes the element invalid.
        return `unknown parameter ${name}`;
    }
  }
  return p;
}

/**
 * The parameters of `p` as an extension element. An answer names the offer's parameters first, in the
 * offer's order, then those the server adds (the order ws answers in; any order is valid, RFC 7692 §5).
 */
function formatParams(p: DeflateParams, offer?: ExtensionOffer): ExtensionOffer {
  const present: Array<[string, string | true]> = [];
  if (p.serverNoContextTakeover) present.push(['server_no_context_takeover', true]);
  if (p.clientNoContextTakeover) present.push(['client_no_context_takeover', true]);
  if (p.serverMaxWindowBits !== undefined) present.push(['server_max_window_bits', String(p.serverMaxWindowBits)]);
  if (p.clientMaxWindowBits !== undefined) {
    present.push(['client_max_window_bits', p.clientMaxWindowBits === true ? true : String(p.clientMaxWindowBits)]);
  }
  if (offer === undefined) return { name: PERMESSAGE_DEFLATE, params: present };
  const params: Array<[string, string | true]> = [];
  for (const [name] of offer.params) {
    const at = present.findIndex((param) => param[0] === name);
    if (at !== -1) params.push(...present.splice(at, 1));
  }
  params.push(...present);
  return { name: PERMESSAGE_DEFLATE, params };
}

function checkWindowBits(name: string, value: boolean | number | undefined): void {
  if (value === undefined || typeof value === 'boolean') return;
  if (!Number.isInteger(value) || value < 8 || value > 15) {
    throw new RangeError(`${name} must be a boolean or an integer from 8 to 15, got ${String(value)}`);
  }
}

function checkRange(name: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

const DEFAULT_WINDOW_BITS = 15;
const MIN_CHUNK = 64; // zlib.constants.Z_MIN_CHUNK

/**
 * The permessage-deflate negotiator for either side: a server calls `negotiate`, a client `offer` and
 * then `accept`. Each successful negotiation creates one codec for that connection.
 */
export class PerMessageDeflate implements ServerExtensionNegotiator, ClientExtensionNegotiator {
  readonly name = PERMESSAGE_DEFLATE;
  private readonly options: PerMessageDeflateOptions;
  private readonly threshold: number;
  private readonly concurrencyLimit: number;
  private readonly deflateOptions: ZlibOptions;
  private readonly inflateOptions: ZlibOptions;

  /** `true` (or nothing) = all defaults. Throws on an invalid option. */
  constructor(options: PerMessageDeflateOptions | true = {}) {
    const o = options === true ? {} : options;
    checkWindowBits('serverMaxWindowBits', o.serverMaxWindowBits);
    checkWindowBits('clientMaxWindowBits', o.clientMaxWindowBits);
    const threshold = o.threshold ?? 1024;
    if (!(threshold >= 0)) throw new RangeError(`threshold must be a number >= 0, got ${String(threshold)}`);
    const concurrencyLimit = o.concurrencyLimit ?? 10;
    checkRange('concurrencyLimit', concurrencyLimit, 1, Number.MAX_SAFE_INTEGER);
    const d = o.zlibDeflateOptions ?? {};
    checkRange('zlibDeflateOptions.level', d.level, -1, 9);
    checkRange('zlibDeflateOptions.memLevel', d.memLevel, 1, 9);
    checkRange('zlibDeflateOptions.strategy', d.strategy, 0, 4);
    checkRange('zlibDeflateOptions.chunkSize', d.chunkSize, MIN_CHUNK, Number.MAX_SAFE_INTEGER);
    const i = o.zlibInflateOptions ?? {};
    checkRange('zlibInflateOptions.chunkSize', i.chunkSize, MIN_CHUNK, Number.MAX_SAFE_INTEGER);
    this.options = { ...o };
    this.threshold = threshold;
    this.concurrencyLimit = concurrencyLimit;
    this.deflateOptions = pick(d, ['level', 'memLevel', 'strategy', 'chunkSize']);
    this.inflateOptions = pick(i, ['chunkSize']);
  }

  // ---- server ---------------------------------------------------------------------------------

  negotiate(offers: readonly ExtensionOffer[]): { response: ExtensionOffer; extension: Extension } | null {
    for (const offer of offers) {
      if (offer.name !== PERMESSAGE_DEFLATE) continue;
      const p = parseParams(offer);
      if (typeof p === 'string' || !this.acceptable(p)) continue;
      const agreed = this.serverAnswer(p);
      return { response: formatParams(agreed, offer), extension: this.codec(agreed, 'server') };
    }
    return null;
  }

  /** Whether the server's options allow it to accept the offer `p` (as `ws` decides). */
  private acceptable(p: DeflateParams): boolean {
    const o = this.options;
    if (o.serverNoContextTakeover === false && p.serverNoContextTakeover) return false;
    if (p.serverMaxWindowBits !== undefined) {
      // RFC 7692 §7.1.2.1: we may only answer the same or a smaller window than asked for.
      if (o.serverMaxWindowBits === false) return false;
      if (typeof o.serverMaxWindowBits === 'number' && o.serverMaxWindowBits > p.serverMaxWindowBits) return false;
    }
    if (typeof o.clientMaxWindowBits === 'number') {
      // RFC 7692 §7.1.2.2: we may only limit the client's window if it offered the parameter.
      if (p.clientMaxWindowBits === undefined) return false;
      if (p.clientMaxWindowBits !== true && o.clientMaxWindowBits > p.clientMaxWindowBits) return false;
    }
    return true;
  }

  private serverAnswer(p: DeflateParams): DeflateParams {
    const o = this.options;
    let clientMaxWindowBits: number | undefined;
    if (typeof o.clientMaxWindowBits === 'number') clientMaxWindowBits = o.clientMaxWindowBits;
    else if (o.clientMaxWindowBits !== false && p.clientMaxWindowBits !== true) {
      // RFC 7692 §7.1.2.2: in an answer the parameter has a value; echo the client's own limit.
      clientMaxWindowBits = p.clientMaxWindowBits;
    }
    return {
      serverNoContextTakeover: o.serverNoContextTakeover === true || p.serverNoContextTakeover,
      clientNoContextTakeover: o.clientNoContextTakeover === true || p.clientNoContextTakeover,
      serverMaxWindowBits: typeof o.serverMaxWindowBits === 'number' ? o.serverMaxWindowBits : p.serverMaxWindowBits,
      clientMaxWindowBits,
    };
  }

  // ---- client ---------------------------------------------------------------------------------

  offer(): ExtensionOffer {
    const o = this.options;
    return formatParams(this.offered(o));
  }

  private offered(o: PerMessageDeflateOptions): DeflateParams {
    return {
      serverNoContextTakeover: o.serverNoContextTakeover === true,
      clientNoContextTakeover: o.clientNoContextTakeover === true,
      serverMaxWindowBits: typeof o.serverMaxWindowBits === 'number' ? o.serverMaxWindowBits : undefined,
      clientMaxWindowBits:
        typeof o.clientMaxWindowBits === 'number' ? o.clientMaxWindowBits : o.clientMaxWindowBits === false ? undefined : true,
    };
  }

  accept(response: ExtensionOffer): Extension | Error {
    if (response.name !== PERMESSAGE_DEFLATE) return new Error(`not a ${PERMESSAGE_DEFLATE} response: ${response.name}`);
    const p = parseParams(response);
    if (typeof p === 'string') return new Error(`invalid ${PERMESSAGE_DEFLATE} response: ${p}`);
    const offered = this.offered(this.options);
    // RFC 7692 §7.1.2.2: in an answer client_max_window_bits has a value, and only if we offered it.
    if (p.clientMaxWindowBits === true) return new Error('client_max_window_bits in the response has no value');
    if (p.clientMaxWindowBits !== undefined) {
      if (offered.clientMaxWindowBits === undefined) return new Error('client_max_window_bits in the response was not offered');
      if (offered.clientMaxWindowBits !== true && p.clientMaxWindowBits > offered.clientMaxWindowBits) {
        return new Error('client_max_window_bits in the response is larger than offered');
      }
    }
    if (this.options.clientNoContextTakeover === false && p.clientNoContextTakeover) {
      return new Error('client_no_context_takeover in the response, which our options forbid');
    }
    // RFC 7692 §7.1.1.1, §7.1.2.1: a server accepts these requests by answering them.
    if (offered.serverNoContextTakeover && !p.serverNoContextTakeover) {
      return new Error('server_no_context_takeover was requested but not answered');
    }
    if (offered.serverMaxWindowBits !== undefined) {
      if (p.serverMaxWindowBits === undefined) return new Error('server_max_window_bits was requested but not answered');
      if (p.serverMaxWindowBits > offered.serverMaxWindowBits) {
        return new Error('server_max_window_bits in the response is larger than requested');
      }
    }
    const agreed: DeflateParams = {
      ...p,
      // Our own hint binds us even when the server does not echo it (RFC 7692 §7.1.1.2).
      clientNoContextTakeover: p.clientNoContextTakeover || offered.clientNoContextTakeover,
      // A window we offered binds us even when the server does not answer it.
      clientMaxWindowBits: p.clientMaxWindowBits ?? (offered.clientMaxWindowBits === true ? undefined : offered.clientMaxWindowBits),
    };
    return this.codec(agreed, 'client');
  }

  // ---- both -----------------------------------------------------------------------------------

  private codec(agreed: DeflateParams, role: 'server' | 'client'): PerMessageDeflateCodec {
    const server = {
      windowBits: agreed.serverMaxWindowBits ?? DEFAULT_WINDOW_BITS,
      noContextTakeover: agreed.serverNoContextTakeover,
    };
    const clientBits = agreed.clientMaxWindowBits;
    const client = {
      windowBits: clientBits === undefined || clientBits === true ? DEFAULT_WINDOW_BITS : clientBits,
      noContextTakeover: agreed.clientNoContextTakeover,
    };
    const config: CodecConfig = {
      params: formatParams(agreed),
      send: role === 'server' ? server : client,
      receive: role === 'server' ? client : server,
      threshold: this.threshold,
      limiter: sharedLimiter(this.concurrencyLimit),
      deflateOptions: this.deflateOptions,
      inflateOptions: this.inflateOptions,
    };
    return new PerMessageDeflateCodec(config);
  }
}

function pick(options: ZlibOptions, keys: ReadonlyArray<keyof ZlibOptions>): ZlibOptions {
  const out: ZlibOptions = {};
  for (const key of keys) if (options[key] !== undefined) (out as Record<string, unknown>)[key] = options[key];
  return out;
}
