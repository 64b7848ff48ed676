// Header values for side-by-side parser tests: every string over a small alphabet up to a length,
// which reaches each state of `ws`'s parsers with each kind of character, plus hand-picked ones.

/** All strings over `alphabet` of length 0..maxLength, in order. */
export function allStrings(alphabet: readonly string[], maxLength: number): string[] {
  const out = [''];
  let previous = [''];
  for (let length = 1; length <= maxLength; length++) {
    const next: string[] = [];
    for (const prefix of previous) for (const c of alphabet) next.push(prefix + c);
    for (const s of next) out.push(s);
    previous = next;
  }
  return out;
}

/** What a parser did with an input: its result made comparable, or its error's class and message. */
export function outcome(parse: (header: string) => unknown, header: string): string {
  try {
    const result = parse(header);
    return JSON.stringify(result instanceof Set ? [...result] : result);
  } catch (error) {
    return `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}
