// The slash commands of the interactive client: a typed line is a message, or one of these.

export type Command =
  | { kind: 'send'; text: string }
  | { kind: 'ping' | 'pong'; data: string }
  | { kind: 'close'; code: number | undefined; reason: string }
  | { kind: 'binary'; data: Buffer }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

export const COMMANDS_HELP = `/ping [data]            send a ping (with --show-ping-pong, its pong is shown)
/pong [data]            send an unsolicited pong
/close [code] [reason]  close the connection (default 1000)
/binary <hex>           send a binary message, e.g. /binary de ad be ef
/help                   this list
//text                  send "/text" as a text message
`;

/** What a typed line asks for. */
export function parseCommand(line: string): Command {
  if (!line.startsWith('/')) return { kind: 'send', text: line };
  if (line.startsWith('//')) return { kind: 'send', text: line.slice(1) };
  const space = line.indexOf(' ');
  const name = space === -1 ? line.slice(1) : line.slice(1, space);
  const rest = space === -1 ? '' : line.slice(space + 1);
  switch (name) {
    case 'ping':
    case 'pong':
      if (Buffer.byteLength(rest) > 125) return { kind: 'invalid', message: `/${name}: at most 125 bytes of data (RFC 6455 §5.5)` };
      return { kind: name, data: rest };
    case 'close':
      return parseClose(rest.trim());
    case 'binary': {
      const hex = rest.replace(/\s+/g, '');
      if (hex === '' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
        return { kind: 'invalid', message: '/binary takes bytes in hex (an even number of 0-9 a-f digits), e.g. /binary 48 69' };
      }
      return { kind: 'binary', data: Buffer.from(hex, 'hex') };
    }
    case 'help':
      return { kind: 'help' };
    default:
      return { kind: 'invalid', message: `unknown command /${name} (/help lists them; //text sends "/text")` };
  }
}

function parseClose(rest: string): Command {
  if (rest === '') return { kind: 'close', code: undefined, reason: '' };
  const match = /^(\S+)\s*(.*)$/.exec(rest)!;
  const code = /^\d+$/.test(match[1]!) ? Number(match[1]) : Number.NaN;
  // The codes an endpoint may send (RFC 6455 §7.4): 1000, and 3000-4999 for libraries and applications.
  if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
    return { kind: 'invalid', message: `/close takes 1000 or a code from 3000 to 4999, not ${match[1]}` };
  }
  const reason = match[2]!;
  if (Buffer.byteLength(reason) > 123) return { kind: 'invalid', message: '/close: the reason is at most 123 bytes' };
  return { kind: 'close', code, reason };
}
