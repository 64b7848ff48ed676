// Target "head-parser": the incremental HTTP head parsers (RFC 9112 §2-§5) and the handshake checks
// behind them. Random bytes, grammar soup, valid upgrade requests / 101 responses (the model) and
// their mutations, pushed in random chunkings under random limits. Asserted for every input:
//  - push() never throws, and the result agrees with a straightforward reference of the grammar
//    (complete at the same byte / error / incomplete);
//  - a complete head matches the reference's reading of it, the bytes after it are kept exactly;
//  - an error carries one of the allowed statuses; one push and split pushes give the same result;
//  - limits hold: an incomplete head never holds more than maxHeadSize bytes, a partial line never
//    more than maxLineLength, a complete head is at most maxHeadSize bytes;
//  - validateUpgradeRequest / validateServerResponse never throw and answer an allowed status;
//  - a valid request from the model parses to the model and passes validation with its values.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { acceptKeyFor } from '../../../src/handshake/accept-key.js';
import { validateServerResponse } from '../../../src/handshake/client-handshake.js';
import { HandshakeError } from '../../../src/handshake/handshake-error.js';
import {
  DEFAULT_HEAD_LIMITS,
  type HeadLimits,
  type HeadParseResult,
  RequestHeadParser,
  ResponseHeadParser,
} from '../../../src/handshake/head-parser.js';
import { isFieldValueChar, isOws, isTokenChar } from '../../../src/handshake/http-grammar.js';
import { validateUpgradeRequest } from '../../../src/handshake/server-handshake.js';
import { type ExtensionOffer, parseExtensions } from '../../../src/handshake/token-list.js';
import { offersArb, tokenArb, writeOffers } from './extensions.js';
import { type Chunking, chunkingArb, mutatedArb, split } from './mutation.js';
import { check, type FuzzTarget } from './target.js';

const CR = 0x0d;
const LF = 0x0a;

const REQUEST_STATUSES = new Set([400, 414, 431, 505]);
const UPGRADE_STATUSES = new Set([400, 405, 426]);

// ---- The model: a valid upgrade request or 101 response -------------------------------------

interface Model {
  kind: 'request' | 'response';
  bytes: Buffer;
  /** Bytes after the head (the frame stream). */
  rest: Buffer;
  key: string;
  protocols: string[];
  extensions: ExtensionOffer[];
  fields: Array<[string, string]>;
}

const caseArb = fc.array(fc.boolean(), { minLength: 1, maxLength: 24 });

function recase(s: string, flips: readonly boolean[]): string {
  return [...s].map((c, i) => (flips[i % flips.length] ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join('');
}

const FIELD_VALUE_CHARS = [...Array(256).keys()].filter((c) => isFieldValueChar(c) && !isOws(c)).map((c) => String.fromCharCode(c));

/** A field value: no leading/trailing OWS (the parser trims it), inner spaces allowed. */
const fieldValueArb = fc
  .array(fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...FIELD_VALUE_CHARS) }, { weight: 1, arbitrary: fc.constantFrom(' ', '\t') }), {
    maxLength: 30,
  })
  .map((a) => a.join('').replace(/^[ \t]+|[ \t]+$/g, ''));

const owsArb = fc.constantFrom('', ' ', ' ', '\t', ' \t ');

const modelArb: fc.Arbitrary<Model> = fc
  .record({
    response: fc.boolean(),
    target: fc.string({ unit: fc.constantFrom(...'/abcz09?=&%._~-'), minLength: 1, maxLength: 20 }).map((t) => `/${t}`),
    minor: fc.constantFrom('1', '1', '1', '9'),
    host: fc.constantFrom('example.com', 'localhost:8080', '[::1]:443', '127.0.0.1'),
    nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    upgrade: fc.constantFrom('websocket', 'WebSocket', 'h2c, websocket', 'websocket, h2c/2'),
    connection: fc.constantFrom('Upgrade', 'upgrade', 'keep-alive, Upgrade'),
    origin: fc.option(fc.constantFrom('http://example.com', 'null'), { nil: undefined }),
    protocols: fc.uniqueArray(tokenArb, { maxLength: 3 }),
    extensions: offersArb,
    extra: fc.array(fc.tuple(tokenArb.map((t) => `X-${t}`), fieldValueArb), { maxLength: 5 }),
    cases: caseArb,
    ows: fc.array(owsArb, { minLength: 1, maxLength: 12 }),
    leadingEmptyLines: fc.nat({ max: 2 }),
    rest: fc.uint8Array({ maxLength: 40 }),
    layout: fc.record({
      ows: fc.array(fc.constantFrom('', ' '), { minLength: 8, maxLength: 8 }),
      quote: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
      escape: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
      emptyElements: fc.constant([0]),
      lineBreaks: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
    }),
  })
  .map((m) => {
    const key = Buffer.from(m.nonce).toString('base64');
    const fields: Array<[string, string]> = [];
    let k = 0;
    const name = (n: string): string => recase(n, m.cases.slice(k++ % m.cases.length));
    if (m.response) {
      fields.push([name('Upgrade'), 'websocket'], [name('Connection'), m.connection], [name('Sec-WebSocket-Accept'), acceptKeyFor(key)]);
      if (m.protocols.length > 0) fields.push([name('Sec-WebSocket-Protocol'), m.protocols[0]!]);
    } else {
      fields.push(
        [name('Host'), m.host],
        [name('Upgrade'), m.upgrade],
        [name('Connection'), m.connection],
        [name('Sec-WebSocket-Key'), key],
        [name('Sec-WebSocket-Version'), '13'],
      );
      if (m.origin !== undefined) fields.push([name('Origin'), m.origin]);
      if (m.protocols.length > 0) fields.push([name('Sec-WebSocket-Protocol'), m.protocols.join(', ')]);
    }
    // An empty offer list is no header at all (the request form is 1#extension).
    const extensions = m.response ? m.extensions.slice(0, 1).map((e) => ({ ...e, name: 'permessage-deflate' })) : m.extensions;
    if (extensions.length > 0) {
      for (const line of writeOffers(extensions, m.layout)) fields.push([name('Sec-WebSocket-Extensions'), line.trim()]);
    }
    fields.push(...m.extra);
    // llhttp (and so the response parser) takes only 1.0 and 1.1 of the 1.x versions.
    const startLine = m.response ? `HTTP/1.1 101 Switching Protocols` : `GET ${m.target} HTTP/1.${m.minor}`;
    const ows = (i: number): string => m.ows[i % m.ows.length]!;
    const text =
      (m.response ? '' : '\r\n'.repeat(m.leadingEmptyLines)) +
      `${startLine}\r\n` +
      fields.map(([n, v], i) => `${n}:${ows(2 * i)}${v}${ows(2 * i + 1)}\r\n`).join('') +
      '\r\n';
    const rest = Buffer.from(m.rest);
    return {
      kind: m.response ? ('response' as const) : ('request' as const),
      bytes: Buffer.concat([Buffer.from(text, 'latin1'), rest]),
      rest,
      key,
      protocols: m.protocols,
      extensions,
      fields,
    };
  });

// ---- Inputs -----------------------------------------------------------------------------------

const SOUP = ['GET', ' ', '/', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', '101', '\r\n', '\r', '\n', ':', '\t', '\x00', 'Host', 'a', '\xff', '\x7f', 'x'.repeat(300)];

const limitsArb: fc.Arbitrary<HeadLimits> = fc.record({
  maxHeadSize: fc.oneof(fc.constant(DEFAULT_HEAD_LIMITS.maxHeadSize), fc.integer({ min: 1, max: 700 })),
  maxHeaders: fc.oneof(fc.constant(DEFAULT_HEAD_LIMITS.maxHeaders), fc.integer({ min: 1, max: 12 })),
  maxLineLength: fc.oneof(fc.constant(DEFAULT_HEAD_LIMITS.maxLineLength), fc.integer({ min: 1, max: 200 })),
});

type Input = { bytes: Buffer; model: Model | null };

const inputArb: fc.Arbitrary<Input> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => ({ bytes: Buffer.from(a), model: null })) },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom(...SOUP), { maxLength: 40 }).map((a) => ({ bytes: Buffer.from(a.join(''), 'latin1'), model: null })),
  },
  { weight: 2, arbitrary: modelArb.map((model) => ({ bytes: model.bytes, model })) },
  { weight: 4, arbitrary: mutatedArb(modelArb.map((m) => m.bytes), 6).map((bytes) => ({ bytes, model: null })) },
);

// ---- The reference ------------------------------------------------------------------------------

type RefResult = { kind: 'incomplete' } | { kind: 'error' } | { kind: 'complete'; headLength: number; lines: string[] };

/** The head grammar read line by line, with the limits counted as the parser documents them. */
function reference(input: Buffer, limits: HeadLimits, request: boolean): RefResult {
  const n = input.length;
  let pos = 0;
  let sawStart = false;
  let headers = 0;
  const lines: string[] = [];
  for (;;) {
    let j = pos;
    while (j < n && input[j] !== CR && input[j] !== LF) j++;
    if (j - pos > limits.maxLineLength || j > limits.maxHeadSize) return { kind: 'error' };
    if (j === n) return { kind: 'incomplete' };
    if (input[j] === LF || j + 1 > limits.maxHeadSize) return { kind: 'error' };
    if (j + 1 === n) return { kind: 'incomplete' };
    if (input[j + 1] !== LF || j + 2 > limits.maxHeadSize) return { kind: 'error' };
    const line = input.subarray(pos, j);
    pos = j + 2;
    if (!sawStart) {
      // RFC 9112 §2.2 (requests) and Node's client (responses): empty lines before the start line are skipped.
      if (line.length === 0) continue;
      if (!(request ? requestLineOk(line) : statusLineOk(line))) return { kind: 'error' };
      sawStart = true;
      lines.push(line.toString('latin1'));
      continue;
    }
    if (line.length === 0) return { kind: 'complete', headLength: pos, lines };
    const colon = line.indexOf(0x3a);
    if (colon < 1) return { kind: 'error' };
    for (let i = 0; i < colon; i++) if (!isTokenChar(line[i]!)) return { kind: 'error' };
    for (let i = colon + 1; i < line.length; i++) if (!isFieldValueChar(line[i]!)) return { kind: 'error' };
    if (++headers > limits.maxHeaders) return { kind: 'error' };
    lines.push(line.toString('latin1'));
  }
}

function requestLineOk(line: Buffer): boolean {
  const parts = line.toString('latin1').split(' ');
  if (parts.length !== 3) return false;
  const [method, target, version] = parts as [string, string, string];
  if (method === '' || ![...method].every((c) => isTokenChar(c.charCodeAt(0)))) return false;
  if (target === '' || ![...target].every((c) => c.charCodeAt(0) > 0x20 && c.charCodeAt(0) < 0x7f)) return false;
  return /^HTTP\/1\.[1-9]$/.test(version);
}

/** What Node's HTTP parser (llhttp) accepts: its versions, a 3-digit status from 100, any reason bytes. */
function statusLineOk(line: Buffer): boolean {
  return /^HTTP\/(0\.9|1\.[01]|2\.0) [1-9][0-9][0-9]( |$)/.test(line.toString('latin1'));
}

// ---- Driving the parser -------------------------------------------------------------------------

type Parser = RequestHeadParser | ResponseHeadParser;
type AnyResult = HeadParseResult<{ headers: Map<string, string[]>; rawHeaders: string[] }>;

interface Outcome {
  result: AnyResult;
  /** Bytes taken as the head (complete), else bytes pushed. */
  consumed: number;
  /** Everything after the head: the rest of the last chunk plus the chunks never pushed. */
  after: Buffer;
}

function drive(parser: Parser, chunks: readonly Buffer[], limits: HeadLimits): Outcome {
  let pushed = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    let result: AnyResult;
    try {
      result = parser.push(chunk) as AnyResult;
    } catch (err) {
      throw new Error(`push() threw: ${String(err)}`);
    }
    pushed += chunk.length;
    const line = (parser as unknown as { line: Buffer }).line;
    check(line.length <= limits.maxLineLength, () => `a partial line buffer of ${line.length} bytes (maxLineLength ${limits.maxLineLength})`);
    if (result.kind === 'complete') {
      return { result, consumed: pushed - result.rest.length, after: Buffer.concat([result.rest, ...chunks.slice(i + 1)]) };
    }
    if (result.kind === 'error') return { result, consumed: pushed, after: Buffer.alloc(0) };
  }
  return { result: { kind: 'incomplete' }, consumed: pushed, after: Buffer.alloc(0) };
}

function summary(o: Outcome): string {
  const r = o.result;
  if (r.kind === 'incomplete') return 'incomplete';
  if (r.kind === 'error') return `error ${r.error.status} ${r.error.message}`;
  return JSON.stringify({ head: { ...r.head, headers: [...r.head.headers] }, consumed: o.consumed, after: o.after.toString('hex') });
}

function checkParser(input: Buffer, chunking: Chunking, limits: HeadLimits, request: boolean): Outcome {
  const make = (): Parser => (request ? new RequestHeadParser(limits) : new ResponseHeadParser(limits));
  const whole = drive(make(), [Buffer.from(input)], limits);
  const pieces = drive(make(), split(input, chunking), limits);
  check(summary(whole) === summary(pieces), () => `one push gave ${summary(whole)}, split pushes ${summary(pieces)}`);
  const ref = reference(input, limits, request);
  const r = pieces.result;
  check(r.kind === ref.kind, () => `the parser says ${r.kind}, the reference ${ref.kind}`);
  switch (r.kind) {
    case 'incomplete':
      check(input.length <= limits.maxHeadSize, () => `incomplete after ${input.length} bytes (maxHeadSize ${limits.maxHeadSize})`);
      break;
    case 'error': {
      const allowed = request ? REQUEST_STATUSES : new Set([502]);
      check(r.error instanceof HandshakeError && allowed.has(r.error.status), () => `error status ${r.error.status}`);
      break;
    }
    case 'complete': {
      if (ref.kind !== 'complete') break;
      check(pieces.consumed === ref.headLength, () => `head of ${pieces.consumed} bytes, the reference says ${ref.headLength}`);
      check(pieces.consumed <= limits.maxHeadSize, 'a complete head over maxHeadSize');
      check(pieces.after.equals(input.subarray(pieces.consumed)), 'the bytes after the head were not kept exactly');
      const raw = r.head.rawHeaders;
      check(raw.length === 2 * (ref.lines.length - 1), 'rawHeaders and the header lines differ in number');
      const grouped = new Map<string, string[]>();
      for (let i = 1; i < ref.lines.length; i++) {
        const line = ref.lines[i]!;
        const colon = line.indexOf(':');
        const name = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
        check(raw[2 * i - 2] === name && raw[2 * i - 1] === value, () => `header line ${JSON.stringify(line)} read as ${raw[2 * i - 2]}: ${raw[2 * i - 1]}`);
        const list = grouped.get(name.toLowerCase());
        if (list === undefined) grouped.set(name.toLowerCase(), [value]);
        else list.push(value);
      }
      check(JSON.stringify([...grouped]) === JSON.stringify([...r.head.headers]), 'headers map differs from rawHeaders');
      const start = ref.lines[0]!;
      if (request) {
        const head = (r as Extract<HeadParseResult<import('../../../src/handshake/head-parser.js').RequestHead>, { kind: 'complete' }>).head;
        check(`${head.method} ${head.target} HTTP/${head.version}` === start, () => `request line ${JSON.stringify(start)} read wrongly`);
      } else {
        const head = (r as Extract<HeadParseResult<import('../../../src/handshake/head-parser.js').ResponseHead>, { kind: 'complete' }>).head;
        check(start.startsWith(`HTTP/${head.version} ${head.status}`) && start.slice(13) === head.reason, () => `status line ${JSON.stringify(start)} read wrongly`);
      }
      break;
    }
  }
  return pieces;
}

export const headParserTarget: FuzzTarget = {
  name: 'head-parser',
  weight: 2,
  kind: 'sync',
  property: () =>
    fc.property(inputArb, chunkingArb, limitsArb, ({ bytes, model }, chunking, limits) => {
      if (model !== null) limits = DEFAULT_HEAD_LIMITS;
      for (const request of [true, false]) {
        const outcome = checkParser(bytes, chunking, limits, request);
        const r = outcome.result;
        if (r.kind !== 'complete') {
          check(model === null || model.kind !== (request ? 'request' : 'response'), () => `the valid ${model!.kind} gave ${r.kind}`);
          continue;
        }
        if (request) {
          const head = r.head as import('../../../src/handshake/head-parser.js').RequestHead;
          const v = validateUpgradeRequest(head);
          if (v instanceof HandshakeError) {
            check(UPGRADE_STATUSES.has(v.status), () => `validateUpgradeRequest answered ${v.status}`);
            check(model === null || model.kind !== 'request', () => `the valid request was refused: ${v.status} ${v.message}`);
          } else if (model !== null && model.kind === 'request') {
            check(v.key === model.key, 'the key differs from the model');
            check(JSON.stringify(v.protocols) === JSON.stringify(model.protocols), 'the protocols differ from the model');
            check(JSON.stringify(v.extensions) === JSON.stringify(model.extensions), 'the extensions differ from the model');
            check(JSON.stringify(parseExtensions(head.headers.get('sec-websocket-extensions') ?? [])) === JSON.stringify(model.extensions), 'extensions');
          }
          if (model !== null && model.kind === 'request') check(outcome.after.equals(model.rest), 'the bytes after the head differ from the model');
        } else {
          const head = r.head as import('../../../src/handshake/head-parser.js').ResponseHead;
          const key = model?.key ?? createHash('md5').update(bytes).digest('base64').slice(0, 22) + '==';
          const v = validateServerResponse(head, key, model?.protocols ?? ['chat'], ['permessage-deflate']);
          if (v instanceof HandshakeError) {
            check(v.status === 502 || v.status === head.status, () => `validateServerResponse answered ${v.status}`);
            check(model === null || model.kind !== 'response', () => `the valid response was refused: ${v.status} ${v.message}`);
          } else if (model !== null && model.kind === 'response') {
            check(outcome.after.equals(model.rest), 'the bytes after the head differ from the model');
            check(v.protocol === model.protocols[0], 'the protocol differs from the model');
            check(JSON.stringify(v.extensions) === JSON.stringify(model.extensions), 'the extensions differ from the model');
          }
        }
      }
      return true;
    }),
};
