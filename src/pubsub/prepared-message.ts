// A message framed once for any number of connections: the bytes of its unmasked, uncompressed frame
// are built on first use and then written as they are to every server-side connection that takes them.
import type { Extension } from '../extensions/extension.js';
import { encodeFrame } from '../framing/frame-encoder.js';
import { Opcode } from '../framing/opcodes.js';

/** A message framed once for any number of sockets: made by `WebSocket.prepare()`, sent by `send()`. */
export class PreparedMessage {
  private encoded: Buffer[] | null = null;
  /** Compressed frames, by the extension's sharedCompressionKey. */
  private compressed: Map<string, Buffer[]> | null = null;

  /**
   * `data` is the payload (kept, not copied: the caller must not change it while the message is in
   * use); `compress` asks connections with permessage-deflate to compress it.
   */
  constructor(
    /** The payload. */
    readonly data: Buffer,
    /** Sent as a binary message (else text). */
    readonly binary: boolean,
    /** Compressed where permessage-deflate is negotiated. */
    readonly compress: boolean,
  ) {}

  /** The frame (RFC 6455 §5.2: FIN, no RSV bits, unmasked) as one buffer, or a header and the payload. */
  frame(): readonly Buffer[] {
    if (this.encoded === null) {
      const out: Buffer[] = [];
      encodeFrame(out, this.binary ? Opcode.Binary : Opcode.Text, this.data, true, false, null);
      this.encoded = out;
    }
    return this.encoded;
  }

  /**
   * The frame compressed by `extension` (RSV1 set, RFC 7692 §6), built once per compression key: every
   * connection whose extension has the same key sends these bytes.
   */
  compressedFrame(key: string, extension: Extension): readonly Buffer[] {
    const frames = (this.compressed ??= new Map());
    let frame = frames.get(key);
    if (frame === undefined) {
      frame = [];
      encodeFrame(frame, this.binary ? Opcode.Binary : Opcode.Text, extension.compressShared!(this.data), true, true, null);
      frames.set(key, frame);
    }
    return frame;
  }
}
