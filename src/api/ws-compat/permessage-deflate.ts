// `ws`'s `PerMessageDeflate` export: the negotiation object as `ws` shapes it (offer() and accept()
// with parameter objects, `params`, compress/decompress with (error, result) callbacks, cleanup()),
// as a thin adapter over our own negotiator and codec.
import type { Extension } from '../../extensions/extension.js';
import {
  PERMESSAGE_DEFLATE,
  PerMessageDeflate as Negotiator,
  type PerMessageDeflateOptions,
} from '../../extensions/permessage-deflate.js';
import type { ExtensionOffer } from '../../handshake/token-list.js';

/** `ws`'s PerMessageDeflate constructor options: ours plus `ws`'s names. */
export interface WsPerMessageDeflateOptions extends PerMessageDeflateOptions {
  /** Negotiate as the server (accept() answers offers) or the client. Default false. */
  isServer?: boolean;
  /** Max inflated message size in bytes; 0 = unlimited. Default 0, as in `ws`. */
  maxPayload?: number;
}

/** Negotiated parameters as `ws` gives them: window bits as numbers, `true` for a bare parameter. */
export type DeflateParamsObject = Record<string, number | true>;

type Callback = (error: Error | null, result?: Buffer) => void;

/** `ws`'s PerMessageDeflate class (offer, accept, compress, decompress), for libraries that use it directly; built on our codec. */
export class PerMessageDeflate {
  /** The extension's registered name, 'permessage-deflate'. */
  static get extensionName(): string {
    return PERMESSAGE_DEFLATE;
  }

  /** The parameters accepted, once accept() succeeded. */
  params: DeflateParamsObject | null = null;
  // TypeScript-private, not #private: `#private` in the declarations would break older targets.
  /** @internal */
  private readonly _negotiator: Negotiator;
  /** @internal */
  private readonly _isServer: boolean;
  /** @internal */
  private readonly _maxPayload: number;
  /** @internal */
  private _codec: Extension | null = null;
  /** @internal */
  private readonly _options: WsPerMessageDeflateOptions;

  /** Throws on an invalid option (RangeError), as our negotiator does. */
  constructor(options: WsPerMessageDeflateOptions = {}) {
    this._negotiator = new Negotiator(options);
    this._isServer = options.isServer === true;
    this._maxPayload = options.maxPayload ?? 0;
    this._options = options;
  }

  /** The client's offer, as a parameter object. */
  offer(): DeflateParamsObject {
    return paramsObject(this._negotiator.offer());
  }

  /**
   * Server: answer the first acceptable of the client's offers; client: check the server's answer.
   * `configurations` as `extension.parse` gives them for this extension (values as arrays or not).
   * Returns the agreed parameters; throws an Error when nothing can be agreed.
   */
  accept(configurations: ReadonlyArray<Record<string, unknown>>): DeflateParamsObject {
    const offers = configurations.map(toOffer);
    if (this._isServer) {
      const agreed = this._negotiator.negotiate(offers);
      if (agreed === null) throw new Error('None of the extension offers can be accepted');
      this._codec = agreed.extension;
      this.params = paramsObject(agreed.response);
    } else {
      checkAnswer(configurations[0] ?? {}, this._options);
      const extension = this._negotiator.accept(offers[0] ?? { name: PERMESSAGE_DEFLATE, params: [] });
      if (extension instanceof Error) throw extension;
      this._codec = extension;
      this.params = paramsObject(offers[0]!);
    }
    return this.params;
  }

  /** Release the compressor and decompressor. */
  cleanup(): void {
    this._codec?.close();
    this._codec = null;
  }

  /** Compress one piece of a message (`fin` ends it). */
  compress(data: Buffer | string, fin: boolean, callback: Callback): void {
    this._accepted().compress(typeof data === 'string' ? Buffer.from(data) : data, fin, callback);
  }

  /** Decompress one piece of a message; beyond maxPayload the error is a 1009 ProtocolError. */
  decompress(data: Buffer, fin: boolean, callback: Callback): void {
    this._accepted().decompress(data, fin, this._maxPayload, callback);
  }

  /** @internal The codec of the negotiated connection (the Receiver adapter decompresses with it). */
  get _extension(): Extension | null {
    return this._codec;
  }

  /** @internal */
  private _accepted(): Extension {
    if (this._codec === null) throw new Error('PerMessageDeflate: accept() has not succeeded');
    return this._codec;
  }
}

/**
 * A client's accept(): `ws`'s checks of the server's answer, with its errors (our negotiator then
 * makes its own, stricter ones: RFC 7692 §7.1).
 */
function checkAnswer(params: Record<string, unknown>, options: WsPerMessageDeflateOptions): void {
  for (const key of Object.keys(params)) {
    const values = params[key];
    if (Array.isArray(values) && values.length > 1) throw new Error(`Parameter "${key}" must have only a single value`);
    const value: unknown = Array.isArray(values) ? values[0] : values;
    if (key === 'client_max_window_bits' || key === 'server_max_window_bits') {
      const bits = value === true ? NaN : Number(value);
      if (!Number.isInteger(bits) || bits < 8 || bits > 15) throw new TypeError(`Invalid value for parameter "${key}": ${String(value)}`);
    } else if (key === 'client_no_context_takeover' || key === 'server_no_context_takeover') {
      if (value !== true) throw new TypeError(`Invalid value for parameter "${key}": ${String(value)}`);
    } else {
      throw new Error(`Unknown parameter "${key}"`);
    }
  }
  if (options.clientNoContextTakeover === false && params.client_no_context_takeover !== undefined) {
    throw new Error('Unexpected parameter "client_no_context_takeover"');
  }
  const clientBits = params.client_max_window_bits;
  const limit = options.clientMaxWindowBits;
  if (clientBits !== undefined && (limit === false || (typeof limit === 'number' && Number(Array.isArray(clientBits) ? clientBits[0] : clientBits) > limit))) {
    throw new Error('Unexpected or invalid parameter "client_max_window_bits"');
  }
}

function toOffer(params: Record<string, unknown>): ExtensionOffer {
  const list: Array<[string, string | true]> = [];
  for (const name of Object.keys(params)) {
    const values = params[name];
    for (const value of Array.isArray(values) ? values : [values]) list.push([name, value === true ? true : String(value)]);
  }
  return { name: PERMESSAGE_DEFLATE, params: list };
}

function paramsObject(offer: ExtensionOffer): DeflateParamsObject {
  const params: DeflateParamsObject = {};
  for (const [name, value] of offer.params) params[name] = value === true ? true : Number(value);
  return params;
}
