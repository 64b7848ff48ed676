// `ws`'s `subprotocol` export: Sec-WebSocket-Protocol parsed with ws's strictness and error messages,
// over our own header scanner.
import { Scanner } from '../../handshake/token-list.js';
import { checkStart, endsInWhitespace, unexpected } from './strict-header.js';

const COMMA = 0x2c;

/**
 * The subprotocol names of a Sec-WebSocket-Protocol value, in order. As `ws`: tokens separated by
 * commas with optional whitespace between (not before the first one, not after the last), no empty
 * element; a repeated name is a SyntaxError too.
 */
export function parse(header: string): Set<string> {
  const protocols = new Set<string>();
  const sc = new Scanner(header);
  checkStart(header, sc);
  for (;;) {
    sc.skipOws();
    const name = sc.token();
    if (name === '') throw unexpected(sc);
    sc.skipOws();
    if (sc.atEnd() ? endsInWhitespace(header) : sc.peek() !== COMMA) throw unexpected(sc);
    if (protocols.has(name)) throw new SyntaxError(`The "${name}" subprotocol is duplicated`);
    protocols.add(name);
    if (sc.atEnd()) return protocols;
    sc.i++;
  }
}
