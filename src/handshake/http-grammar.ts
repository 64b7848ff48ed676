// Character classes of the HTTP grammar (RFC 9110 §5.5, §5.6.2, RFC 3986 §3.2.2), as byte tables.

function table(chars: string, ranges: ReadonlyArray<[number, number]> = []): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  for (const [lo, hi] of ranges) for (let c = lo; c <= hi; c++) t[c] = 1;
  return t;
}

const ALNUM: ReadonlyArray<[number, number]> = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = table("!#$%&'*+-.^_`|~", ALNUM);

// RFC 3986 §3.2.2-3.2.3 (uri-host [":" port]): unreserved / pct-encoded / sub-delims / ":" / "[" / "]"
const HOST_CHAR = table("-._~%!$&'()*+,;=:[]", ALNUM);

/** True when `c` (a byte or a char code; anything above 0xFF is false) is an RFC 9110 tchar. */
export function isTokenChar(c: number): boolean {
  return TCHAR[c] === 1;
}

/** RFC 9110 §5.6.2: token = 1*tchar */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** RFC 9110 §5.5: a byte allowed inside a field value: HTAB / SP / VCHAR / obs-text (no other CTL, no DEL). */
export function isFieldValueChar(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0xff && c !== 0x7f);
}

/** RFC 9110 §5.6.3: OWS = *( SP / HTAB ) */
export function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** A Host field value or host name made only of RFC 3986 authority characters (no userinfo, no path). */
export function isHostSyntax(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (HOST_CHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** ASCII case-insensitive equality; `lower` must already be lowercase ASCII. */
export function equalsIgnoreAsciiCase(s: string, lower: string): boolean {
  if (s.length !== lower.length) return false;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
