// The two libraries that side-by-side tests run the same program against: `ws` and rfc6455, the latter
// typed as `ws`'s module so that one program text serves both.
import * as ws from 'ws';
import * as rfc6455 from '../../src/index.js';

/** The part of a library's module the programs use, typed as `ws`'s. */
export interface Lib {
  WebSocket: typeof ws.WebSocket;
  WebSocketServer: typeof ws.WebSocketServer;
}

export const LIBS: Array<[string, Lib]> = [
  ['ws', { WebSocket: ws.WebSocket, WebSocketServer: ws.WebSocketServer }],
  ['rfc6455', rfc6455 as unknown as Lib],
];
