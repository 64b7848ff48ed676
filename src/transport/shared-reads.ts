// Sockets that read into one shared buffer instead of a new one per read.
//
// A plain net.Socket allocates a 64 KiB buffer for every read and hands it out through 'data' (the
// stream machinery, and for big frames memory the cache has never seen). A socket created with the
// `onread` option reads into a buffer it is given and calls back instead. Here that buffer is the
// masking kernel's read area (src/masking/simd.ts), so frames are unmasked where they land.
//
// One buffer serves every socket of the process. That is safe because the callback processes a read
// completely, copying whatever is kept (FrameDecoder's `borrowed` mode), and no other read of any
// socket can happen before it returns: reads are delivered one at a time on the event loop.
//
// The client's plain TCP connections get it from `net.connect` (which takes `onread`). net.Server has
// no such option, so each socket the standalone server accepts, before it reads anything, gets the two
// fields the option would have set (shareReads); a plain TCP socket upgraded by an http.Server gets
// them once its reading is stopped with nothing left unread (shareReadsAfterUpgrade). TLS sockets, and
// sockets that already hold unread bytes, keep the 'data' path.
import { connect, type NetConnectOpts, type OnReadOpts, type Socket } from 'node:net';
import { simdReadArea } from '../masking/simd.js';

/** Where the bytes of a shared-read socket go. */
export interface ReadReceiver {
  /** `chunk` is a view of the shared buffer, valid only during this call. */
  onSharedRead(chunk: Buffer): void;
}

/** The receiver of a socket that reads into the shared buffer. */
const kReceiver = Symbol('rfc6455.readReceiver');
type SharedReadSocket = Socket & { [kReceiver]: ReadReceiver };

/** Size of the fallback buffer where WebAssembly cannot run (the kernel's read area is 256 KiB). */
const FALLBACK_SIZE = 256 * 1024;

let shared: Buffer | undefined;

function sharedBuffer(): Buffer {
  return (shared ??= simdReadArea() ?? Buffer.allocUnsafe(FALLBACK_SIZE));
}

/**
 * The `onread` callback of every shared-read socket (called with the socket as `this`). It returns
 * true: pausing is left to pause(), which the receiver may call.
 */
function onRead(this: SharedReadSocket, nread: number, buffer: Buffer): boolean {
  this[kReceiver].onSharedRead(buffer.subarray(0, nread));
  return true;
}

/** `net.connect(options)`, reading into the shared buffer, its reads going to `receiver`. */
export function connectWithSharedReads(options: NetConnectOpts, receiver: ReadReceiver): Socket {
  const onread: OnReadOpts = { buffer: sharedBuffer(), callback: onRead as OnReadOpts['callback'] };
  const socket = connect({ ...options, onread }) as SharedReadSocket;
  socket[kReceiver] = receiver;
  return socket;
}

/** Whether `socket` reads into the shared buffer (then it never emits 'data'). */
export function readsShared(socket: object): boolean {
  return kReceiver in socket;
}

/** Where the reads of a shared-read socket go now (undefined for any other socket). */
export function readReceiverOf(socket: Socket): ReadReceiver | undefined {
  return (socket as Partial<SharedReadSocket>)[kReceiver];
}

/** From now on the socket's reads go to `receiver`. */
export function setReadReceiver(socket: Socket, receiver: ReadReceiver): void {
  (socket as SharedReadSocket)[kReceiver] = receiver;
}

const discard: ReadReceiver = { onSharedRead() {} };

/**
 * Read and drop whatever else comes (a failed handshake handed to the application): the socket keeps
 * reading, so that the peer's FIN is seen and the socket can close once the application ends it.
 */
export function discardReads(socket: Socket): void {
  (socket as SharedReadSocket)[kReceiver] = discard;
  socket.resume();
}

/** net.Socket's own keys for `onread` (own symbol properties of every socket, in Node 20 to 24). */
interface OnReadKeys {
  buffer: symbol;
  callback: symbol;
}

let onReadKeys: OnReadKeys | null | undefined;

function findOnReadKeys(socket: Socket): OnReadKeys | null {
  const symbols = Object.getOwnPropertySymbols(socket);
  const buffer = symbols.find((key) => key.description === 'kBuffer');
  const callback = symbols.find((key) => key.description === 'kBufferCb');
  return buffer !== undefined && callback !== undefined ? { buffer, callback } : null;
}

/**
 * Make a socket accepted by a net.Server created with `pauseOnConnect` (nothing read yet) read into the
 * shared buffer, its reads going to `receiver`, as if it had been created with the `onread` option: the
 * same two fields of the socket that option sets, and the handle told to read into the buffer. Nothing
 * is read until resume(). Returns false, with the socket untouched, where this Node has no such fields
 * or handle method (then it reads through 'data' as usual).
 */
export function shareReads(accepted: Socket, receiver: ReadReceiver): boolean {
  const handle = (accepted as unknown as { _handle: { useUserBuffer?: (buffer: Uint8Array) => void; reading?: boolean } | null })._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function' || handle.reading === true) return false;
  const keys = onReadKeys === undefined ? (onReadKeys = findOnReadKeys(accepted)) : onReadKeys;
  const fields = accepted as unknown as Record<symbol, unknown>;
  if (keys === null || fields[keys.buffer] !== null) return false;
  const buffer = sharedBuffer();
  fields[keys.buffer] = buffer;
  fields[keys.callback] = onRead;
  handle.useUserBuffer(buffer);
  (accepted as SharedReadSocket)[kReceiver] = receiver;
  return true;
}

/**
 * A plain TCP socket handed over by an http.Server's 'upgrade' (its request head parsed, the bytes
 * after it given separately): stop its reading and switch it to the shared buffer, unless it is not a
 * net.Socket with a handle, is TLS, or Node already read bytes nobody consumed (then it is left as it
 * was, on the 'data' path). Once switched nothing is read until resume(); a read before the next
 * receiver is set destroys the socket rather than lose bytes.
 */
export function shareReadsAfterUpgrade(socket: Socket): boolean {
  if ((socket as Socket & { encrypted?: boolean }).encrypted === true) return false;
  type Handle = { readStart?: () => number; readStop?: () => number; reading?: boolean };
  const handle = (socket as unknown as { _handle: Handle | null })._handle;
  if (handle == null || typeof handle.readStop !== 'function' || typeof handle.readStart !== 'function') return false;
  const wasReading = handle.reading === true;
  if (wasReading) {
    handle.readStop();
    handle.reading = false;
  }
  if (socket.readableLength === 0 && shareReads(socket, { onSharedRead: () => socket.destroy() })) return true;
  // Left as it was.
  if (wasReading) {
    handle.readStart();
    handle.reading = true;
  }
  return false;
}
