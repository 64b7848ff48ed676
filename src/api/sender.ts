// `ws`'s semi-private Sender face, for libraries built on ws that frame a broadcast once with
// `Sender.frame(data, options)` and write it to many sockets with `ws._sender.sendFrame(list, cb)`.
// A thin adapter over our frame encoder and the connection's pre-encoded frame path.
import { encodeHeader, frameByte0 } from '../framing/frame-encoder.js';
import { maskInto } from '../masking/mask.js';
import type { WriteCallback } from '../protocol/connection.js';
import { cryptoMaskKeySource, type MaskKeySource } from '../protocol/random-source.js';
import type { SocketTransport } from '../transport/socket-transport.js';

/** The options of `Sender.frame`, as in `ws`. */
export interface SenderFrameOptions {
  /** The opcode (RFC 6455 §5.2). */
  opcode: number;
  /** Set FIN. Default false (as in `ws`: pass true for a whole message). */
  fin?: boolean;
  /** Set RSV1 (a compressed message's first frame, RFC 7692 §6). Default false. */
  rsv1?: boolean;
  /** Mask the payload (client frames). Default false. */
  mask?: boolean;
  /** With `mask`: leave `data` untouched and mask into a new buffer; else `data` is masked in place. */
  readOnly?: boolean;
  /** With `mask`: where the 4 key bytes are written. Default: an internal buffer. */
  maskBuffer?: Buffer;
  /** With `mask`: fills the key's 4 bytes. Default: the system CSPRNG. */
  generateMask?: (mask: Buffer) => void;
}

const maskBuffer = Buffer.alloc(4);
let maskKeys: MaskKeySource | null = null;

/** `ws`'s Sender face: `Sender.frame(data, options)` builds a frame's buffers as `ws` does. */
export class Sender {
  /**
   * Frame `data` once: returns the frame as a list of Buffers ([header] for an empty payload, [header,
   * payload], or one Buffer when masking a read-only payload), byte for byte as `ws`'s Sender.frame.
   * A masked frame whose key is 0 leaves the payload as it is.
   */
  static frame(data: Buffer | Uint8Array | string, options: SenderFrameOptions): Buffer[] {
    const payload = typeof data === 'string' ? Buffer.from(data) : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const length = payload.length;
    const byte0 = frameByte0(options.opcode, options.fin === true, options.rsv1 === true);
    if (!options.mask) {
      const header = encodeHeader(byte0, length, null, 0);
      return length === 0 ? [header] : [header, payload];
    }
    const mask = options.maskBuffer ?? maskBuffer;
    if (options.generateMask !== undefined) options.generateMask(mask);
    else mask.writeUInt32BE((maskKeys ??= cryptoMaskKeySource())() >>> 0, 0);
    const key = mask.readUInt32BE(0);
    // A string was copied already; a read-only buffer is masked into the header's buffer.
    const merge = options.readOnly === true && typeof data !== 'string' && key !== 0 && length > 0;
    const header = encodeHeader(byte0, length, key, merge ? length : 0);
    if (length === 0) return [header];
    if (key === 0) return [header, payload];
    if (merge) {
      maskInto(payload, 0, length, key, header, header.length - length);
      return [header];
    }
    maskInto(payload, 0, length, key, payload, 0);
    return [header, payload];
  }
}

/** `ws._sender`: writes frames that are already encoded, in order with the socket's other sends. */
export class FrameSender {
  constructor(private readonly transport: SocketTransport) {}

  /**
   * Write `list` (a frame from `Sender.frame`) as it is. `cb` runs once it is written, or with an error
   * when it cannot go: after the close frame, or between the fragments of a message being sent.
   */
  sendFrame(list: readonly Buffer[], cb?: WriteCallback): void {
    if (this.transport.sendEncoded(list, cb)) return;
    if (cb !== undefined) process.nextTick(cb, new Error('WebSocket is not open, or a fragmented message is being sent: the frame was not written'));
  }
}
