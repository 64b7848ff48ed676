// Hand-written scanners for the list-valued header fields of the handshake: linear, no regex.
import { isFieldValueChar, isOws, isToken, isTokenChar } from './http-grammar.js';

const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const SLASH = 0x2f;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A cursor over one field value (also used by the `ws`-compatible header helpers of the API). */
export class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  atEnd(): boolean {
    return this.i >= this.s.length;
  }

  peek(): number {
    return this.s.charCodeAt(this.i);
  }

  skipOws(): void {
    while (this.i < this.s.length && isOws(this.s.charCodeAt(this.i))) this.i++;
  }

  /** The token at the cursor, or '' when there is none. */
  token(): string {
    const start = this.i;
    while (this.i < this.s.length && isTokenChar(this.s.charCodeAt(this.i))) this.i++;
    return this.s.slice(start, this.i);
  }

  /**
   * RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, cursor on the opening
   * DQUOTE. Returns the unescaped content, or null when it is malformed.
   */
  quotedString(): string | null {
    let out = '';
    let runStart = ++this.i;
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === DQUOTE) {
        out += this.s.slice(runStart, this.i++);
        return out;
      }
      if (c === BACKSLASH) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        const escaped = this.s.charCodeAt(this.i + 1);
        if (!isFieldValueChar(escaped)) return null;
        out += this.s.slice(runStart, this.i) + this.s[this.i + 1];
        this.i += 2;
        runStart = this.i;
        continue;
      }
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      if (!isFieldValueChar(c)) return null;
      this.i++;
    }
    return null;
  }
}

/**
 * RFC 9110 §5.6.1: #element = [ element ] *( OWS "," OWS [ element ] ), over all the field lines in
 * order; empty elements are skipped. Null when an element is malformed.
 */
function parseList<T>(values: readonly string[], element: (sc: Scanner) => T | null): T[] | null {
  const out: T[] = [];
  for (const value of values) {
    const sc = new Scanner(value);
    for (;;) {
      sc.skipOws();
      if (sc.atEnd()) break;
      if (sc.peek() === COMMA) {
        sc.i++;
        continue;
      }
      const el = element(sc);
      if (el === null) return null;
      out.push(el);
      sc.skipOws();
      if (sc.atEnd()) break;
      if (sc.peek() !== COMMA) return null;
      sc.i++;
    }
  }
  return out;
}

function tokenElement(sc: Scanner): string | null {
  return sc.token() || null;
}

/** A comma-separated list of tokens (Connection, Sec-WebSocket-Protocol); null when an element is not a token. */
export function parseTokenList(values: readonly string[]): string[] | null {
  return parseList(values, tokenElement);
}

/** RFC 9110 §7.8: Upgrade = #protocol, protocol = protocol-name ["/" protocol-version]; elements as sent. */
export function parseUpgradeList(values: readonly string[]): string[] | null {
  return parseList(values, (sc) => {
    const name = sc.token();
    if (name === '') return null;
    if (sc.atEnd() || sc.peek() !== SLASH) return name;
    sc.i++;
    const version = sc.token();
    return version === '' ? null : `${name}/${version}`;
  });
}

/** One offer or answer of Sec-WebSocket-Extensions; a parameter without a value has the value true. */
export interface ExtensionOffer {
  name: string;
  params: Array<[string, string | true]>;
}

/**
 * RFC 6455 §9.1:
 *   extension = extension-token *( ";" extension-param )
 *   extension-param = token [ "=" (token | quoted-string) ]  ; a quoted value must be a token once unquoted
 * with optional whitespace around ";" and "=" (the implied *LWS of RFC 2616).
 */
function extensionElement(sc: Scanner): ExtensionOffer | null {
  const name = sc.token();
  if (name === '') return null;
  const params: Array<[string, string | true]> = [];
  for (;;) {
    sc.skipOws();
    if (sc.atEnd() || sc.peek() !== SEMICOLON) return { name, params };
    sc.i++;
    sc.skipOws();
    const param = sc.token();
    if (param === '') return null;
    sc.skipOws();
    if (sc.atEnd() || sc.peek() !== EQUALS) {
      params.push([param, true]);
      continue;
    }
    sc.i++;
    sc.skipOws();
    const value = !sc.atEnd() && sc.peek() === DQUOTE ? sc.quotedString() : sc.token();
    if (value === null || !isToken(value)) return null;
    params.push([param, value]);
  }
}

/** Sec-WebSocket-Extensions over all its field lines, offers in order; null on a syntax error. */
export function parseExtensions(values: readonly string[]): ExtensionOffer[] | null {
  return parseList(values, extensionElement);
}

/** The Sec-WebSocket-Extensions value of `offers`; throws TypeError when a name or value is not a token. */
export function formatExtensions(offers: readonly ExtensionOffer[]): string {
  const parts: string[] = [];
  for (const offer of offers) {
    if (!isToken(offer.name)) throw new TypeError(`invalid extension name: ${JSON.stringify(offer.name)}`);
    let part = offer.name;
    for (const [param, value] of offer.params) {
      if (!isToken(param)) throw new TypeError(`invalid extension parameter name: ${JSON.stringify(param)}`);
      if (value === true) {
        part += `; ${param}`;
      } else {
        if (typeof value !== 'string' || !isToken(value)) {
          throw new TypeError(`invalid value of extension parameter ${param}: ${JSON.stringify(value)}`);
        }
        part += `; ${param}=${value}`;
      }
    }
    parts.push(part);
  }
  return parts.join(', ');
}
