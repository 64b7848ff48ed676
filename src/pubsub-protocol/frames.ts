// The messages of the rfc6455.pubsub.v1 subprotocol (docs/pubsub-protocol.md): control messages are
// JSON text frames; a binary payload travels in a binary frame as a JSON header, a line feed (0x0A)
// and the payload bytes. JSON never writes a raw line feed, so the first 0x0A ends the header.

/** The subprotocol name clients offer and the server selects: 'rfc6455.pubsub.v1'. */
export const PROTOCOL = 'rfc6455.pubsub.v1';
const LF = 0x0a;

/** Longest topic, in UTF-16 code units, and longest epoch a client may name. */
export const MAX_TOPIC_LENGTH = 1024;
const MAX_EPOCH_LENGTH = 64;
const MAX_ID_LENGTH = 64;

export type MessageId = string | number;

export interface Since {
  offset: number;
  epoch: string;
}

/** A well-formed client message. */
export type ClientMessage =
  | { type: 'subscribe'; topic: string; since: Since | null }
  | { type: 'unsubscribe'; topic: string }
  | { type: 'publish'; topic: string; data: Buffer | string; binary: boolean; id: MessageId | null }
  | { type: 'ping'; id: MessageId | null };

/** Why a client message was refused: 1007 (not JSON / no header) or 1008 (not a message of the protocol). */
export class MalformedMessage extends Error {
  constructor(
    readonly code: 1007 | 1008,
    message: string,
  ) {
    super(message);
  }
}

/** Reads one client message. Throws MalformedMessage. */
export function parseClientMessage(data: Buffer, isBinary: boolean): ClientMessage {
  let header: unknown;
  let payload: Buffer | null = null;
  const headerEnd = isBinary ? data.indexOf(LF) : data.length;
  if (headerEnd < 0) throw new MalformedMessage(1007, 'a binary message starts with a JSON header and a line feed');
  try {
    header = JSON.parse(data.toString('utf8', 0, headerEnd));
  } catch {
    throw new MalformedMessage(1007, 'the message is not JSON');
  }
  if (isBinary) payload = data.subarray(headerEnd + 1);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new MalformedMessage(1008, 'a message is a JSON object');
  const fields = header as Record<string, unknown>;
  const type = fields.type;
  if (payload !== null && type !== 'publish') throw new MalformedMessage(1008, 'only a publish may be a binary message');
  switch (type) {
    case 'subscribe':
      return { type, topic: topicOf(fields), since: sinceOf(fields.since) };
    case 'unsubscribe':
      return { type, topic: topicOf(fields) };
    case 'publish': {
      const topic = topicOf(fields);
      const id = idOf(fields.id);
      if (payload !== null) {
        if (fields.data !== undefined) throw new MalformedMessage(1008, 'a binary publish carries its data after the header');
        return { type, topic, data: payload, binary: true, id };
      }
      if (typeof fields.data !== 'string') throw new MalformedMessage(1008, 'a text publish has a string "data"');
      return { type, topic, data: fields.data, binary: false, id };
    }
    case 'ping':
      return { type, id: idOf(fields.id) };
    default:
      throw new MalformedMessage(1008, 'unknown message type');
  }
}

function topicOf(fields: Record<string, unknown>): string {
  const topic = fields.topic;
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new MalformedMessage(1008, `"topic" is a string of 1 to ${MAX_TOPIC_LENGTH} characters`);
  }
  return topic;
}

function sinceOf(since: unknown): Since | null {
  if (since === undefined || since === null) return null;
  const { offset, epoch } = since as Record<string, unknown>;
  if (typeof since !== 'object' || !Number.isSafeInteger(offset) || (offset as number) < 0 || typeof epoch !== 'string' || epoch.length > MAX_EPOCH_LENGTH) {
    throw new MalformedMessage(1008, '"since" is { offset: integer >= 0, epoch: string }');
  }
  return { offset: offset as number, epoch };
}

function idOf(id: unknown): MessageId | null {
  if (id === undefined || id === null) return null;
  if ((typeof id === 'string' && id.length <= MAX_ID_LENGTH) || Number.isSafeInteger(id)) return id as MessageId;
  throw new MalformedMessage(1008, `"id" is an integer or a string of at most ${MAX_ID_LENGTH} characters`);
}

/** Position fields of a delivered message (absent for a topic without history). */
export interface Delivery {
  offset?: number;
  epoch?: string;
  replayed?: boolean;
}

/**
 * The server's 'message' for a published payload: a JSON text frame for a text payload, a header
 * and the bytes for a binary one. Returns the bytes of the WebSocket message.
 */
export function encodeDelivery(topic: string, payload: Buffer, binary: boolean, delivery: Delivery): Buffer {
  const head: Record<string, unknown> = { type: 'message', topic };
  if (delivery.offset !== undefined) head.offset = delivery.offset;
  if (delivery.epoch !== undefined) head.epoch = delivery.epoch;
  if (delivery.replayed === true) head.replayed = true;
  if (!binary) {
    head.data = payload.toString('utf8');
    return Buffer.from(JSON.stringify(head));
  }
  const header = Buffer.from(JSON.stringify(head));
  const out = Buffer.allocUnsafe(header.length + 1 + payload.length);
  header.copy(out, 0);
  out[header.length] = LF;
  payload.copy(out, header.length + 1);
  return out;
}

export function encodeControl(message: Record<string, unknown>): string {
  return JSON.stringify(message);
}
