// Output of the interactive commands: plain lines when piped (scripts read them), a prompt with
// coloured `>` / `<` markers on a terminal, where a line printed while the user types keeps the input.
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';

const COLOURS = { cyan: 36, green: 32, yellow: 33, red: 31, dim: 2 } as const;
export type Colour = keyof typeof COLOURS;

export class Terminal {
  /** stdin and stdout are both a terminal: prompt, markers and colour. */
  readonly interactive: boolean;
  readonly input: Interface;
  private readonly colour: boolean;
  private closed = false;

  constructor(private readonly command: string) {
    this.interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
    // hasColors() honours NO_COLOR, FORCE_COLOR and TERM.
    this.colour = this.interactive && process.stdout.hasColors?.() === true;
    this.input = createInterface({ input: process.stdin, output: this.interactive ? process.stdout : undefined, terminal: this.interactive });
    if (this.interactive) this.input.setPrompt(this.paint('green', '> '));
    this.input.on('close', () => (this.closed = true));
  }

  paint(colour: Colour, text: string): string {
    return this.colour ? `\x1b[${COLOURS[colour]}m${text}\x1b[0m` : text;
  }

  /** Data on stdout: `< line` on a terminal, the bare line when piped. */
  incoming(line: string, marker = '< '): void {
    this.print(process.stdout, this.interactive ? `${this.paint('cyan', marker)}${line}` : line);
  }

  /** A status line on stderr (dim on a terminal). */
  status(line: string): void {
    this.print(process.stderr, this.interactive ? this.paint('dim', line) : line);
  }

  /** An error on stderr, prefixed with `rfc6455 <command>:`. */
  error(message: string): void {
    const line = `rfc6455 ${this.command}: ${message}`;
    this.print(process.stderr, this.interactive ? this.paint('red', line) : line);
  }

  /** Shows the prompt (terminal only). */
  prompt(): void {
    if (this.interactive) this.input.prompt(true);
  }

  private print(stream: NodeJS.WriteStream, line: string): void {
    if (!this.interactive) {
      stream.write(`${line}\n`);
      return;
    }
    // Erase the prompt line, print, then redraw the prompt with what was typed so far.
    clearLine(process.stdout, 0);
    cursorTo(process.stdout, 0);
    stream.write(`${line}\n`);
    if (!this.closed) this.input.prompt(true);
  }

  close(): void {
    if (this.interactive && !this.closed) {
      clearLine(process.stdout, 0);
      cursorTo(process.stdout, 0);
    }
    this.input.close();
  }
}
