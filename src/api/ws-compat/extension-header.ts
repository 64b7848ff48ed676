// `ws`'s `extension` export: Sec-WebSocket-Extensions parsed into and formatted from ws's shape
// ({ name: [ { param: [value, ...] }, ... ] }, null-prototype objects, `true` for a bare parameter),
// with ws's strictness and error messages, over our own header scanner and formatter.
import { isTokenChar } from '../../handshake/http-grammar.js';
import { formatExtensions, Scanner, type ExtensionOffer } from '../../handshake/token-list.js';
import { checkStart, endsInWhitespace, unexpected } from './strict-header.js';

/** A parameter's values by name, as `ws` gives them. */
export type ExtensionParams = Record<string, Array<string | true>>;
/** The offers of each extension by name, as `ws` gives them. */
export type ParsedExtensions = Record<string, ExtensionParams[]>;

const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

function push<T>(into: Record<string, T[]>, name: string, value: T): void {
  const list = into[name];
  if (list === undefined) into[name] = [value];
  else list.push(value);
}

/**
 * RFC 6455 §9.1 as `ws` reads it: whitespace only around names, values and separators (none right
 * after "=", none at the start or end of the value); a quoted value holds token characters, each
 * possibly escaped by a backslash, and at least one of them.
 */
export function parse(header: string): ParsedExtensions {
  const offers: ParsedExtensions = Object.create(null);
  const sc = new Scanner(header);
  checkStart(header, sc);
  for (;;) {
    sc.skipOws();
    const name = sc.token();
    if (name === '') throw unexpected(sc);
    const params: ExtensionParams = Object.create(null);
    for (;;) {
      sc.skipOws();
      if (sc.atEnd()) {
        if (endsInWhitespace(header)) throw unexpected(sc);
        push(offers, name, params);
        return offers;
      }
      const separator = sc.peek();
      if (separator === COMMA) break;
      if (separator !== SEMICOLON) throw unexpected(sc);
      sc.i++;
      sc.skipOws();
      const param = sc.token();
      if (param === '') throw unexpected(sc);
      if (sc.atEnd() || sc.peek() !== EQUALS) {
        push<string | true>(params, param, true);
        continue;
      }
      sc.i++;
      const value = !sc.atEnd() && sc.peek() === DQUOTE ? quotedToken(sc) : sc.token();
      if (value === '') throw unexpected(sc);
      push<string | true>(params, param, value);
    }
    push(offers, name, params);
    sc.i++;
  }
}

/** A quoted value, cursor on its opening quote: token characters, each possibly escaped. */
function quotedToken(sc: Scanner): string {
  let value = '';
  sc.i++;
  for (;;) {
    if (sc.atEnd()) throw unexpected(sc);
    const c = sc.peek();
    if (c === DQUOTE && value !== '') {
      sc.i++;
      return value;
    }
    if (c === BACKSLASH) {
      sc.i++;
      if (sc.atEnd() || !isTokenChar(sc.peek())) throw unexpected(sc);
    } else if (!isTokenChar(c)) {
      throw unexpected(sc);
    }
    value += sc.s[sc.i];
    sc.i++;
  }
}

/**
 * The Sec-WebSocket-Extensions value of `extensions` in `ws`'s shape (an offer may be one params
 * object or an array of them, a value one value or an array). Unlike `ws`, names and values must be
 * tokens (a TypeError otherwise): they go on the wire as they are.
 */
export function format(extensions: Record<string, Record<string, unknown> | Array<Record<string, unknown>>>): string {
  const offers: ExtensionOffer[] = [];
  for (const name of Object.keys(extensions)) {
    const configurations = extensions[name]!;
    for (const params of Array.isArray(configurations) ? configurations : [configurations]) {
      const list: Array<[string, string | true]> = [];
      for (const param of Object.keys(params)) {
        const values = params[param];
        for (const value of Array.isArray(values) ? values : [values]) list.push([param, value === true ? true : String(value)]);
      }
      offers.push({ name, params: list });
    }
  }
  return formatExtensions(offers);
}
