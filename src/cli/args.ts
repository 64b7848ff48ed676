// Command-line options: node:util's parseArgs, with its errors reworded for the user (no Node wording).
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake on the command line: reported as `rfc6455 <command>: <message>`, exit status 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs in strict mode; unknown options and missing values become UsageErrors. */
export function parseOptions<T extends Options, P extends boolean>(
  argv: string[],
  options: T,
  allowPositionals: P,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: P; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(reword(error as Error & { code?: string }));
  }
}

function reword(error: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
  // "Option '-w, --wait <value>' argument missing": name the long form.
  const name = /--[\w-]+/.exec(quoted)?.[0] ?? quoted.split(' ')[0];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${name}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (error.message.includes('ambiguous')) return `option ${name} needs a value (one starting with "-" is given as ${name}=-VALUE)`;
      return quoted.includes('<value>') ? `option ${name} needs a value` : `option ${name} takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted}`;
    default:
      return error.message;
  }
}

/** A whole number in [min, max], else a UsageError naming the option. */
export function integerOption(name: string, value: string, min: number, max: number): number {
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(`${name} takes a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return number;
}
