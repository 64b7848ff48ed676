// RFC 6455 §7.4.1: defined close status codes.
/**
 * The close status codes of RFC 6455 §7.4.1 and the IANA registry, by name: `ws.close(CloseCode.GoingAway)`.
 * Applications may also use 3000-3999 (registered) and 4000-4999 (private).
 */
export const CloseCode = {
  /** The purpose of the connection was fulfilled. */
  Normal: 1000,
  /** An endpoint is going away: a server shutting down, a browser leaving the page. */
  GoingAway: 1001,
  /** The peer broke the protocol (a bad frame, an unmasked client frame, a bad close code...). */
  ProtocolError: 1002,
  /** A data type the endpoint cannot accept (e.g. binary to a text-only endpoint). */
  UnsupportedData: 1003,
  /** Reserved: never on the wire; reported when a close frame carried no code. */
  NoStatus: 1005,
  /** Reserved: never on the wire; reported when the connection ended without a close frame. */
  Abnormal: 1006,
  /** Data not consistent with the message type: invalid UTF-8 in a text message. */
  InvalidPayload: 1007,
  /** A policy was violated (a generic code, e.g. a limit or an authorization rule). */
  PolicyViolation: 1008,
  /** A message too big to process (over `maxPayload`). */
  MessageTooBig: 1009,
  /** Client only: the server did not negotiate an extension the client requires. */
  MandatoryExtension: 1010,
  /** The server met an unexpected condition (e.g. an application callback threw). */
  InternalError: 1011,
  /** The server is restarting: reconnect later. */
  ServiceRestart: 1012,
  /** The server is overloaded: try again later. */
  TryAgainLater: 1013,
  /** A gateway or proxy got an invalid response from the server upstream. */
  BadGateway: 1014,
} as const;
