// The binary envelope a publish travels in between nodes (processes, threads, machines):
//
//   byte 0       version (1)
//   byte 1       flags: bit 0 binary, bit 1 compress
//   bytes 2-9    origin: the publishing node's 8-byte id (a node ignores its own publishes coming back)
//   bytes 10-11  topic length in bytes, big-endian
//   then         the topic (UTF-8), then the payload to the end
//
// The payload is carried as raw bytes: no JSON, no base64.

export const ENVELOPE_VERSION = 1;
/** Envelope flag: the payload is a binary message (else text). */
export const FLAG_BINARY = 1;
/** Envelope flag: the publisher asked for compression (`compress: true`). */
export const FLAG_COMPRESS = 2;
export const ORIGIN_LENGTH = 8;
const HEAD = 2 + ORIGIN_LENGTH + 2;
const MAX_TOPIC_BYTES = 0xffff;

/** A decoded envelope: a publish as it travels between nodes. */
export interface Envelope {
  /** The publishing node's 8-byte id. */
  origin: Buffer;
  /** The topic published to. */
  topic: string;
  /** {@link FLAG_BINARY} and {@link FLAG_COMPRESS} bits. */
  flags: number;
  /** The message, as raw bytes. */
  payload: Buffer;
}

/** One buffer holding the envelope. Throws RangeError for an origin that is not 8 bytes or a topic over 65535 bytes. */
export function encodeEnvelope(origin: Buffer, topic: string, flags: number, payload: Buffer): Buffer {
  if (origin.length !== ORIGIN_LENGTH) throw new RangeError(`an origin id is ${ORIGIN_LENGTH} bytes, not ${origin.length}`);
  const topicLength = Buffer.byteLength(topic);
  if (topicLength > MAX_TOPIC_BYTES) throw new RangeError(`a topic is at most ${MAX_TOPIC_BYTES} bytes of UTF-8, not ${topicLength}`);
  const out = Buffer.allocUnsafe(HEAD + topicLength + payload.length);
  out[0] = ENVELOPE_VERSION;
  out[1] = flags & (FLAG_BINARY | FLAG_COMPRESS);
  origin.copy(out, 2);
  out.writeUInt16BE(topicLength, 2 + ORIGIN_LENGTH);
  out.write(topic, HEAD, topicLength, 'utf8');
  payload.copy(out, HEAD + topicLength);
  return out;
}

/**
 * The fields of an envelope (origin and payload are views of `bytes`), or null when `bytes` is not a
 * well-formed envelope of this version (it came from another program or a newer node: ignored).
 */
export function decodeEnvelope(bytes: Buffer): Envelope | null {
  if (bytes.length < HEAD || bytes[0] !== ENVELOPE_VERSION) return null;
  const flags = bytes[1]!;
  if ((flags & ~(FLAG_BINARY | FLAG_COMPRESS)) !== 0) return null;
  const topicLength = bytes.readUInt16BE(2 + ORIGIN_LENGTH);
  if (HEAD + topicLength > bytes.length) return null;
  return {
    origin: bytes.subarray(2, 2 + ORIGIN_LENGTH),
    topic: bytes.toString('utf8', HEAD, HEAD + topicLength),
    flags,
    payload: bytes.subarray(HEAD + topicLength),
  };
}
