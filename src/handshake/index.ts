export { acceptKeyFor, isValidKey, WEBSOCKET_GUID } from './accept-key.js';
export {
  type AcceptedResponse,
  buildClientRequest,
  type ClientRequestOptions,
  generateKey,
  validateServerResponse,
} from './client-handshake.js';
export { HandshakeError } from './handshake-error.js';
export {
  DEFAULT_HEAD_LIMITS,
  type HeadLimits,
  type HeadParseResult,
  type RequestHead,
  RequestHeadParser,
  type ResponseHead,
  ResponseHeadParser,
} from './head-parser.js';
export {
  buildAcceptResponse,
  buildErrorResponse,
  selectProtocol,
  type UpgradeRequest,
  validateUpgradeRequest,
} from './server-handshake.js';
export { reasonPhrase } from './status-reasons.js';
export {
  type ExtensionOffer,
  formatExtensions,
  parseExtensions,
  parseTokenList,
  parseUpgradeList,
} from './token-list.js';
