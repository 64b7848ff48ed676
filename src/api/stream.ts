// createWebSocketStream: a WebSocket as a node Duplex (the semantics of `ws`'s), with backpressure
// both ways: a full readable side pauses the socket, and a write completes at once while send()
// returns true, else on the WebSocket's 'drain'.
import { Duplex, type DuplexOptions } from 'node:stream';
import { ReadyState } from '../protocol/connection.js';
import type { WebSocket } from './websocket.js';

function emitClose(stream: Duplex): void {
  stream.emit('close');
}

/** The readable side ended: when the writable side is finished too, the stream is done. */
function onDuplexEnd(this: Duplex): void {
  if (!this.destroyed && this.writableFinished) this.destroy();
}

/**
 * Errors end the stream. Unlike `ws`, an error with no other 'error' listener is not re-thrown: the
 * socket's errors are the peer's doing, which never throws into the event loop here.
 */
function onDuplexError(this: Duplex): void {
  this.destroy();
}

/**
 * A Duplex over `ws`: each received message is pushed (text as a string with `readableObjectMode`),
 * each written chunk is sent as a binary message. Ending the writable side closes the WebSocket
 * (1005) once the writes are out; destroying the stream terminates it. 'close' on the stream follows
 * the WebSocket's.
 */
export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  let terminateOnDestroy = true;
  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
  });

  ws.on('message', (message: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean) => {
    const data = !isBinary && duplex.readableObjectMode ? message.toString() : message;
    // Backpressure: the consumer is behind, stop reading from the socket until _read.
    if (!duplex.push(data)) ws.pause();
  });

  ws.once('error', (error: Error) => {
    if (duplex.destroyed) return;
    // The WebSocket is closing itself (a close frame with the error's code is on its way):
    // terminating it here could cut that frame off.
    terminateOnDestroy = false;
    duplex.destroy(error);
  });

  ws.once('close', () => {
    if (duplex.destroyed) return;
    duplex.push(null);
  });

  duplex._destroy = (error, callback) => {
    if (ws.readyState === ReadyState.CLOSED) {
      callback(error);
      process.nextTick(emitClose, duplex);
      return;
    }
    let called = false;
    ws.once('error', (wsError: Error) => {
      called = true;
      callback(wsError);
    });
    ws.once('close', () => {
      if (!called) callback(error);
      process.nextTick(emitClose, duplex);
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = (callback) => {
    if (ws.readyState === ReadyState.CONNECTING) {
      ws.once('open', () => duplex._final(callback));
      return;
    }
    const socket = ws._socket;
    // No socket: a client whose handshake failed; its 'error' destroys the stream.
    if (socket === null) return;
    if (socket.writableFinished) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
      return;
    }
    // 'end' follows on the readable side when the WebSocket emits 'close'.
    socket.once('finish', () => callback());
    ws.close();
  };

  duplex._read = () => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = (chunk: Buffer, _encoding, callback) => {
    if (ws.readyState === ReadyState.CONNECTING) {
      ws.once('open', () => duplex._write(chunk, _encoding, callback));
      return;
    }
    // Backpressure as send() reports it: the next write is taken at once while the socket keeps up,
    // and after 'drain' when it does not. A write that fails reports its error here, unless the
    // write was already acknowledged (then the WebSocket's 'error' or 'close' ends the stream).
    let settled = false;
    const settle = (error?: Error | null): void => {
      if (settled) return;
      settled = true;
      ws.removeListener('drain', onDrain);
      callback(error);
    };
    const onDrain = (): void => settle();
    if (ws.send(chunk, (error) => error && settle(error))) settle();
    else if (!settled) ws.once('drain', onDrain);
  };

  duplex.on('end', onDuplexEnd);
  duplex.on('error', onDuplexError);
  return duplex;
}
