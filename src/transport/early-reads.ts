// A shared-read socket while an asynchronous verifyClient decides.
//
// A socket upgraded by node:http keeps reading while the application decides (ws relies on that): a
// peer that half-closes is seen as 'end' on req.socket, and the request can be dropped. A socket that
// reads into the shared buffer is paused once its head is read, so it would never see the FIN. Here it
// reads on; the bytes that arrive meanwhile (frames sent right behind the request) are copied and kept
// for the connection, up to EARLY_LIMIT, past which reading pauses until the decision (the rest waits
// in the kernel, nothing is lost).
import type { Socket } from 'node:net';
import { setReadReceiver, type ReadReceiver } from './shared-reads.js';

/** Bytes kept from a peer before its handshake is decided; then reading pauses. */
const EARLY_LIMIT = 64 * 1024;

export class EarlyReads implements ReadReceiver {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private released = false;

  /** Start reading `socket` (a shared-read socket) into this holder. */
  constructor(private readonly socket: Socket) {
    setReadReceiver(socket, this);
    socket.resume();
  }

  onSharedRead(chunk: Buffer): void {
    if (this.released) return;
    // The chunk is lent by the shared buffer: keep a copy.
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
    if (this.size >= EARLY_LIMIT) this.socket.pause();
  }

  /** Stop reading; `head` followed by the bytes read meanwhile (the first bytes of the frame stream). */
  release(head: Buffer): Buffer {
    this.released = true;
    this.socket.pause();
    if (this.size === 0) return head;
    return Buffer.concat([head, ...this.chunks], head.length + this.size);
  }
}
