// The command line's pure parts: slash commands, request paths of --static, content types.
import { describe, expect, test } from 'vitest';
import { parseCommand } from '../../src/cli/commands.js';
import { contentType, mapPath } from '../../src/cli/static-files.js';

describe('parseCommand', () => {
  test('messages, commands and their arguments', () => {
    expect(parseCommand('hello')).toEqual({ kind: 'send', text: 'hello' });
    expect(parseCommand('')).toEqual({ kind: 'send', text: '' });
    expect(parseCommand('//etc')).toEqual({ kind: 'send', text: '/etc' });
    expect(parseCommand('/ping')).toEqual({ kind: 'ping', data: '' });
    expect(parseCommand('/ping a b')).toEqual({ kind: 'ping', data: 'a b' });
    expect(parseCommand('/pong x')).toEqual({ kind: 'pong', data: 'x' });
    expect(parseCommand('/close')).toEqual({ kind: 'close', code: undefined, reason: '' });
    expect(parseCommand('/close 4000 see you')).toEqual({ kind: 'close', code: 4000, reason: 'see you' });
    expect(parseCommand('/binary de AD 0f')).toEqual({ kind: 'binary', data: Buffer.from([0xde, 0xad, 0x0f]) });
    expect(parseCommand('/help')).toEqual({ kind: 'help' });
  });

  test('invalid commands say why', () => {
    const invalid = (line: string) => {
      const command = parseCommand(line);
      return command.kind === 'invalid' ? command.message : `not invalid: ${command.kind}`;
    };
    expect(invalid('/frob')).toBe('unknown command /frob (/help lists them; //text sends "/text")');
    expect(invalid('/binary')).toContain('/binary takes bytes in hex');
    expect(invalid('/binary abc')).toContain('/binary takes bytes in hex');
    expect(invalid('/binary zz')).toContain('/binary takes bytes in hex');
    expect(invalid('/close 1006')).toBe('/close takes 1000 or a code from 3000 to 4999, not 1006');
    expect(invalid('/close x')).toBe('/close takes 1000 or a code from 3000 to 4999, not x');
    expect(invalid('/close 5000')).toContain('not 5000');
    expect(invalid(`/close 1000 ${'r'.repeat(124)}`)).toBe('/close: the reason is at most 123 bytes');
    expect(invalid(`/ping ${'p'.repeat(126)}`)).toBe('/ping: at most 125 bytes of data (RFC 6455 §5.5)');
  });
});

describe('mapPath', () => {
  const root = '/srv/site';
  test('paths inside the folder', () => {
    expect(mapPath(root, '/')).toBe('/srv/site');
    expect(mapPath(root, '/a/b.html?x=1#y')).toBe('/srv/site/a/b.html');
    expect(mapPath(root, '/a%20b.txt')).toBe('/srv/site/a b.txt');
    expect(mapPath(root, '/a/../b.txt')).toBe('/srv/site/b.txt');
    // A literal (or %2e-encoded) ".." is resolved by the URL parser and stops at the root, as in browsers.
    expect(mapPath(root, '/../etc/passwd')).toBe('/srv/site/etc/passwd');
    expect(mapPath(root, '/%2e%2e/%2E%2E/etc')).toBe('/srv/site/etc');
  });
  test('nothing outside it, no dotfiles, nothing malformed', () => {
    for (const url of ['/..%2fetc%2fpasswd', '/a/..%2f..%2f..%2fetc', '/.git/config', '/a/.env', '/%00', '/%E0%A4%A', '/a%5c..%5c..%5cetc', '/%2e%2e%2fetc']) {
      expect([url, mapPath(root, url)]).toEqual([url, undefined]);
    }
  });
});

test('contentType by extension, octet-stream when unknown', () => {
  expect(contentType('index.HTML')).toBe('text/html; charset=utf-8');
  expect(contentType('a.mjs')).toBe('text/javascript; charset=utf-8');
  expect(contentType('a.wasm')).toBe('application/wasm');
  expect(contentType('a.svg')).toBe('image/svg+xml');
  expect(contentType('Makefile')).toBe('application/octet-stream');
});
