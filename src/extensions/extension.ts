/**
 * The extension interface (RFC 6455 §9): how a WebSocket extension negotiates during the opening
 * handshake and then transforms the messages of one connection.
 *
 * The handshake parses `Sec-WebSocket-Extensions` (see `parseExtensions`) and hands the offers or the
 * answer to the negotiators it was given through `negotiateExtensions` (server) and
 * `acceptExtensions` (client); it never imports a concrete extension. A negotiation yields one
 * `Extension` per connection, which the Connection drives:
 *
 *  - receive: a data message whose first frame has RSV1 set goes through `decompress` (the frame
 *    decoder allows RSV1 only while an extension claims it);
 *  - send: when `shouldCompress(byteLength)` says so, the message goes through `compress` and its
 *    first frame carries RSV1;
 *  - teardown: `close()` releases the extension's resources.
 *
 * Both transforms are asynchronous. Each direction processes its calls strictly in the order they were
 * made and calls back in that order; the two directions are independent of each other. Every callback
 * runs asynchronously (never inside the call that queued it), exactly once, unless `close()` was called
 * first: after `close()` no callback runs at all.
 */
import type { ProtocolError } from '../framing/protocol-error.js';
import type { ExtensionOffer } from '../handshake/token-list.js';

/**
 * Called with the transformed bytes of one piece, or with the error that failed the extension. A
 * decompression error is a `ProtocolError` whose code the connection sends (1007 corrupt data, 1009
 * too big); a compression error (a local failure, not the peer's) is a plain `Error`.
 */
export type TransformCallback = (error: ProtocolError | Error | null, result?: Buffer) => void;

/** A negotiated extension instance: the state of one connection in both directions. */
export interface Extension {
  /** The registered extension name, as in `Sec-WebSocket-Extensions`. */
  readonly name: string;
  /** The extension marks the messages it transformed with RSV1 (RFC 7692 §6). */
  readonly rsv1: true;
  /** Whether an outgoing message of `byteLength` bytes should be compressed (else sent as is, RSV1 clear). */
  shouldCompress(byteLength: number): boolean;
  /**
   * Decompress the next piece of a received message (the payload of a whole message, or of one
   * fragment with `fin` false for all but the last). The inflated size of the message is limited to
   * `maxPayload` bytes (0 = unlimited) while inflating: beyond it the extension fails with 1009.
   */
  decompress(data: Buffer, fin: boolean, maxPayload: number, cb: TransformCallback): void;
  /** Compress the next piece of an outgoing message; `fin` ends the message. */
  compress(data: Buffer, fin: boolean, cb: TransformCallback): void;
  /** Release every resource now. Idempotent; no callback runs afterwards. */
  close(): void;
  /**
   * When this instance compresses every message without context (a server with
   * server_no_context_takeover): a key naming its compression parameters, equal for instances that
   * compress a message to the same bytes, so that one compression serves them all (a publish to many
   * sockets). Null (or absent) when a message's compression depends on the connection's history.
   */
  readonly sharedCompressionKey?: string | null;
  /** Present with a sharedCompressionKey: the compressed payload of a whole message, computed synchronously. */
  compressShared?(data: Buffer): Buffer;
}

/** Server side: answers the client's offers for one extension name. */
export interface ServerExtensionNegotiator {
  readonly name: string;
  /**
   * `offers` are the client's offers of this extension, in the client's order of preference. Returns
   * the response for the first acceptable one and the instance for the connection, or null to decline
   * them all (the connection then goes on without this extension).
   */
  negotiate(offers: readonly ExtensionOffer[]): { response: ExtensionOffer; extension: Extension } | null;
}

/** Client side: makes one offer and checks the server's answer to it. */
export interface ClientExtensionNegotiator {
  readonly name: string;
  offer(): ExtensionOffer;
  /**
   * The instance for the server's `response`, or an Error when the response is not a valid answer to
   * our offer; the client must then fail the connection (RFC 6455 §9.1, RFC 7692 §5).
   */
  accept(response: ExtensionOffer): Extension | Error;
}

/** What a server negotiation yields: the response elements and the instances they created, in order. */
export interface NegotiatedExtensions {
  /** Elements of the response's `Sec-WebSocket-Extensions` (format with `formatExtensions`); may be empty. */
  responses: ExtensionOffer[];
  /** The instances, in the same order (RFC 6455 §9.1: the order in which they apply). */
  extensions: Extension[];
}

/**
 * Server: the answer to the client's `Sec-WebSocket-Extensions` offers (already parsed), asking the
 * negotiators in the server's order of preference. Every extension here claims RSV1, so at most one is
 * accepted: the first negotiator that accepts one of its offers.
 */
export function negotiateExtensions(
  negotiators: readonly ServerExtensionNegotiator[],
  offers: readonly ExtensionOffer[],
): NegotiatedExtensions {
  for (const negotiator of negotiators) {
    const mine = offers.filter((offer) => offer.name === negotiator.name);
    if (mine.length === 0) continue;
    const accepted = negotiator.negotiate(mine);
    if (accepted !== null) return { responses: [accepted.response], extensions: [accepted.extension] };
  }
  return { responses: [], extensions: [] };
}

/**
 * Client: the instances for the server's `Sec-WebSocket-Extensions` answer (already parsed; an absent
 * header is an empty list), or an Error when the answer names an extension we did not offer, more than
 * one extension (they would share RSV1), or is refused by its negotiator (RFC 6455 §9.1).
 */
export function acceptExtensions(
  negotiators: readonly ClientExtensionNegotiator[],
  responses: readonly ExtensionOffer[],
): Extension[] | Error {
  if (responses.length === 0) return [];
  const response = responses[0]!;
  const negotiator = negotiators.find((n) => n.name === response.name);
  if (negotiator === undefined) return new Error(`the server accepted an extension not offered: ${response.name}`);
  if (responses.length > 1) return new Error('the server accepted more than one extension using RSV1');
  const extension = negotiator.accept(response);
  return extension instanceof Error ? extension : [extension];
}
