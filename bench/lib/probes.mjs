// Shared by the scripts that look inside a server under load with perf and strace (kernel-costs.mjs,
// slow-mode.mjs): the echo servers they start, a promise around execFile, and strace -c's summary.
import { execFile } from 'node:child_process';

/** The echo servers, as arguments after `node` (the port goes last) and the line that says they listen. */
export const ECHO_SERVERS = {
  rfc6455: { args: ['bin/rfc6455.cjs', 'serve', '--echo', '--host', '127.0.0.1', '--port'], ready: /listening/ },
  ws: { args: ['bench/servers/ws-echo.mjs', '--host', '127.0.0.1', '--port'], ready: /ready/ },
  uws: { args: ['bench/servers/uws-echo.mjs', '--host', '127.0.0.1', '--port'], ready: /ready/ },
  floor: { args: ['bench/servers/net-floor.mjs', '--host', '127.0.0.1', '--port'], ready: /ready/ },
};

/** `command args` to its end; resolves with its stdout, rejects on a failure or after `timeout` ms. */
export function runTool(command, args, timeout) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.slice(0, 3).join(' ')}: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The calls of each system call in `strace -c` output: { name: calls }, without the total line. */
export function straceCalls(summary) {
  const calls = {};
  for (const line of summary.split('\n')) {
    const match = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (match && match[2] !== 'total') calls[match[2]] = Number(match[1]);
  }
  return calls;
}
