// Frames written to many sockets within one tick, as one write per socket: the publishes to one topic in
// a tick are appended here, and every socket that took a run of them gets, at the end of the tick, its
// part of the frames joined once for all of them (the very same Buffer when it took them all). Any other
// write to such a socket first writes the part it holds, so per socket the bytes keep their call order.

/** What a socket holding a part of shared frames does with it (SocketTransport). */
export interface SharedWritesMember {
  /** Write its part of `writes` now (the end of the tick). */
  flushShared(writes: SharedWrites): void;
}

export class SharedWrites {
  private readonly frames: Buffer[] = [];
  /** offsets[i]: where frame i starts in the joined bytes; the last one is their total length. */
  private readonly offsets: number[] = [0];
  private joined: Buffer | null = null;
  private readonly members: SharedWritesMember[] = [];
  /** Set once the tick ended: nothing more may be appended. */
  finished = false;

  constructor() {
    if (open.push(this) === 1) process.nextTick(finishAll);
  }

  /** Append one encoded frame (one Buffer); returns its index. */
  add(frame: Buffer): number {
    const offsets = this.offsets;
    offsets.push(offsets[offsets.length - 1]! + frame.length);
    return this.frames.push(frame) - 1;
  }

  /** A socket now holds a run of these frames: it is told at the end of the tick. */
  join(member: SharedWritesMember): void {
    this.members.push(member);
  }

  /** Bytes of frames `from` to `to` (inclusive). */
  bytes(from: number, to: number): number {
    return this.offsets[to + 1]! - this.offsets[from]!;
  }

  /** Frames `from` to `to` (inclusive) as one Buffer: a view of the joined frames once they are joined. */
  slice(from: number, to: number): Buffer {
    const joined = this.joined;
    if (joined !== null) {
      return from === 0 && to === this.frames.length - 1 ? joined : joined.subarray(this.offsets[from], this.offsets[to + 1]);
    }
    if (from === to) return this.frames[from]!;
    return Buffer.concat(this.frames.slice(from, to + 1), this.bytes(from, to));
  }

  private finish(): void {
    this.finished = true;
    const frames = this.frames;
    this.joined = frames.length === 1 ? frames[0]! : Buffer.concat(frames, this.offsets[frames.length]);
    // (A member that wrote its part early and took a new run is listed twice; it writes once.)
    for (const member of this.members) member.flushShared(this);
  }
}

/** The SharedWrites of this tick, finished together at its end. */
const open: SharedWrites[] = [];

function finishAll(): void {
  // (One created while this runs is appended, and finished by this same loop.)
  for (let i = 0; i < open.length; i++) open[i]!['finish']();
  open.length = 0;
}
