/**
 * An HTTP-level handshake failure: the server answers `status` and closes; the client fails the
 * connection. `headers` are extra response header fields to send with the error (server side, e.g.
 * `Allow` or `Sec-WebSocket-Version`) or the header fields of the unexpected response (client side,
 * e.g. `Location` of a redirect), in order.
 */
export class HandshakeError extends Error {
  /** Always 'HandshakeError'. */
  override readonly name = 'HandshakeError';
  /** The HTTP status the server answers (400, 426, 431...), or on a client the status it received. */
  readonly status: number;
  /** Extra response headers that go with the status (e.g. `Sec-WebSocket-Version` with 426). */
  readonly headers: ReadonlyArray<[string, string]>;
  /** Client side, a malformed response: the `HPE_*` code Node's HTTP parser gives the same bytes. */
  readonly code: string | undefined;

  constructor(status: number, message: string, headers: ReadonlyArray<[string, string]> = [], code?: string) {
    super(message);
    this.status = status;
    this.headers = headers;
    this.code = code;
  }
}
