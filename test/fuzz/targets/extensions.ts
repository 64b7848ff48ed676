// Target "extensions": the Sec-WebSocket-Extensions grammar (RFC 6455 §9.1). Random and mutated
// field values never throw; whatever parses formats back to a value that reparses to the same
// offers; a list of offers written with any legal spacing, quoting, empty elements and split over
// several field lines parses to exactly that list (the model).
import fc from 'fast-check';
import { type ExtensionOffer, formatExtensions, parseExtensions } from '../../../src/handshake/token-list.js';
import { mutate, mutationArb } from './mutation.js';
import { check, type FuzzTarget } from './target.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export const tokenArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'permessage-deflate',
      'client_max_window_bits',
      'server_no_context_takeover',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      '15',
    ),
  },
);

export const offersArb: fc.Arbitrary<ExtensionOffer[]> = fc.array(
  fc.record({
    name: tokenArb,
    params: fc.array(fc.tuple(tokenArb, fc.oneof(fc.constant(true as const), tokenArb)), { maxLength: 4 }),
  }),
  { maxLength: 4 },
);

const owsArb = fc.constantFrom('', '', ' ', '\t', '  ', ' \t ');

/** The choices of one legal writing of a list of offers. */
const layoutArb: fc.Arbitrary<Layout> = fc.record({
  ows: fc.array(owsArb, { minLength: 8, maxLength: 8 }),
  quote: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
  escape: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
  emptyElements: fc.array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 8 }),
  lineBreaks: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
});
/** Which optional parts a writing uses; each list is read cyclically. */
export interface Layout {
  ows: readonly string[];
  quote: readonly boolean[];
  escape: readonly boolean[];
  emptyElements: readonly number[];
  lineBreaks: readonly boolean[];
}

/** Write `offers` as Sec-WebSocket-Extensions field lines, using `layout` for the optional parts. */
export function writeOffers(offers: readonly ExtensionOffer[], layout: Layout): string[] {
  let k = 0;
  const pick = <T>(a: readonly T[]): T => a[k++ % a.length]!;
  const ows = (): string => pick(layout.ows);
  const lines: string[] = [];
  let line = '';
  for (const offer of offers) {
    let element = offer.name;
    for (const [name, value] of offer.params) {
      element += `${ows()};${ows()}${name}`;
      if (value === true) continue;
      let written = value;
      if (pick(layout.quote)) {
        // quoted-pair: any character may be escaped; the unescaped content is the token.
        written = `"${[...value].map((c) => (pick(layout.escape) ? `\\${c}` : c)).join('')}"`;
      }
      element += `${ows()}=${ows()}${written}`;
    }
    const empties = ','.repeat(pick(layout.emptyElements));
    if (line !== '' && pick(layout.lineBreaks)) {
      lines.push(line);
      line = '';
    }
    line += `${line === '' ? '' : `${ows()},${ows()}`}${empties}${ows()}${element}${ows()}`;
  }
  lines.push(line);
  return lines;
}

/** Characters of the grammar, plus some that are never allowed. */
const SOUP = ['a', 'b', 'x_1', '=', ';', ',', '"', '\\', ' ', '\t', '1', '15', '\x00', '\x7f', '\xe9', '(', '/', '\r', '\n', '\u0100'];

const randomValueArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.array(fc.constantFrom(...SOUP), { maxLength: 30 }).map((a) => a.join('')),
);

const inputArb: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 2, arbitrary: fc.array(randomValueArb, { minLength: 1, maxLength: 3 }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(offersArb, layoutArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
      .map(([offers, layout, mutations]) => writeOffers(offers, layout).map((v) => mutate(Buffer.from(v, 'latin1'), mutations).toString('latin1'))),
  },
);

/** A plain copy of parsed offers for deep comparison. */
function plain(offers: readonly ExtensionOffer[] | null): string {
  return JSON.stringify(offers);
}

export const extensionsTarget: FuzzTarget = {
  name: 'extensions',
  weight: 1,
  kind: 'sync',
  property: () =>
    fc.property(
      fc.oneof(
        inputArb.map((values) => ({ values, model: null as ExtensionOffer[] | null })),
        fc.tuple(offersArb, layoutArb).map(([offers, layout]) => ({ values: writeOffers(offers, layout), model: offers })),
      ),
      ({ values, model }) => {
        const parsed = parseExtensions(values);
        if (model !== null) check(plain(parsed) === plain(model), () => `a legal writing of ${plain(model)} parsed as ${plain(parsed)}`);
        if (parsed === null) return true;
        for (const offer of parsed) {
          check(offer.name.length > 0, 'an empty extension name');
          for (const param of offer.params) check(param[0].length > 0 && param[1] !== '', 'an empty parameter name or value');
        }
        // Round trip: what parses formats (without throwing) to a value that reparses the same.
        const formatted = formatExtensions(parsed);
        check(plain(parseExtensions([formatted])) === plain(parsed), () => `format/reparse changed ${plain(parsed)} into ${formatted}`);
        // The field lines are one list: joined with commas, they parse to the same offers.
        check(plain(parseExtensions([values.join(',')])) === plain(parsed), 'joining the field lines changed the list');
        return true;
      },
    ),
};
