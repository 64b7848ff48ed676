// Test helper: the frames in a run of bytes written by a Connection, decoded (masked ones unmasked).

export interface WireFrame {
  opcode: number;
  fin: boolean;
  payload: Buffer;
}

/** Every whole frame in `bytes`, in order (RFC 6455 §5.2 layout). */
export function decodeFrames(bytes: Buffer): WireFrame[] {
  const frames: WireFrame[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const b0 = bytes[pos]!;
    const b1 = bytes[pos + 1]!;
    let len = b1 & 0x7f;
    pos += 2;
    if (len === 126) {
      len = bytes.readUInt16BE(pos);
      pos += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(pos));
      pos += 8;
    }
    let payload: Buffer;
    if ((b1 & 0x80) !== 0) {
      const key = bytes.subarray(pos, pos + 4);
      pos += 4;
      payload = Buffer.from(bytes.subarray(pos, pos + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    } else {
      payload = bytes.subarray(pos, pos + len);
    }
    pos += len;
    frames.push({ opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, payload });
  }
  return frames;
}
