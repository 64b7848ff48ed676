/**
 * A violation of the WebSocket protocol by the peer (or a limit it exceeded).
 * Raised as a value inside the core and turned into a close frame with `closeCode`
 * plus a teardown by the connection; it never escapes a `data` handler.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}
