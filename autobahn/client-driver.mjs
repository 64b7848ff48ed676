// Drives a WebSocket client library through wstest's fuzzingserver: asks for the case count, runs
// each case echoing every message back with the same binary flag, then asks for the reports.
// Usage: node autobahn/client-driver.mjs --target rfc6455|ws --url ws://127.0.0.1:9002 --agent NAME
//        [--case-timeout SECONDS] [--update-reports-only]
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'rfc6455' },
    url: { type: 'string', default: 'ws://127.0.0.1:9002' },
    agent: { type: 'string' },
    // Only a guard against a hung client: wstest's own case limits (up to 480 s) decide first.
    'case-timeout': { type: 'string', default: '600' },
    'update-reports-only': { type: 'boolean', default: false },
  },
});

const agent = values.agent ?? values.target;
const caseTimeoutMs = Number(values['case-timeout']) * 1000;

/** The library under test: both export a `ws`-shaped WebSocket class. */
async function loadWebSocket(target) {
  if (target === 'ws') return (await import('ws')).WebSocket;
  if (target === 'rfc6455') return (await import(new URL('../dist/esm/index.js', import.meta.url).href)).WebSocket;
  throw new Error(`unknown target ${target} (rfc6455 or ws)`);
}

/** Ends a socket that did not close by itself in time. */
function forceEnd(socket) {
  try {
    if (typeof socket.terminate === 'function') socket.terminate();
    else socket.close();
  } catch {
    // already closed
  }
}

/**
 * Opens one connection and resolves when it has closed. `onMessage(socket, data, isBinary)` handles
 * each message. Resolves { firstText, error, timedOut }.
 */
function session(WebSocket, url, onMessage, timeoutMs) {
  return new Promise((resolve) => {
    const outcome = { firstText: null, error: null, timedOut: false };
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      outcome.error = error;
      resolve(outcome);
      return;
    }
    let settled = false;
    let errorTimer = null;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(errorTimer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      outcome.timedOut = true;
      forceEnd(socket);
      settle();
    }, timeoutMs);
    socket.on('message', (data, isBinary) => {
      if (outcome.firstText === null && !isBinary) outcome.firstText = data.toString();
      onMessage?.(socket, data, isBinary);
    });
    socket.on('error', (error) => {
      outcome.error = error;
      // 'close' normally follows an error; do not wait forever if it does not.
      errorTimer = setTimeout(() => {
        forceEnd(socket);
        settle();
      }, 2000);
    });
    socket.on('close', settle);
  });
}

function echo(socket, data, isBinary) {
  try {
    socket.send(data, { binary: isBinary });
  } catch {
    // the connection is closing; the case decides whether that was right
  }
}

async function main() {
  const WebSocket = await loadWebSocket(values.target);
  const base = values.url.replace(/\/+$/, '');
  const query = `agent=${encodeURIComponent(agent)}`;

  if (!values['update-reports-only']) {
    const counted = await session(WebSocket, `${base}/getCaseCount`, null, 30_000);
    const count = Number(counted.firstText);
    if (!Number.isInteger(count) || count < 0) {
      console.error(`getCaseCount failed: ${counted.error?.message ?? `answer ${counted.firstText}`}`);
      process.exit(1);
    }
    console.log(`cases ${count}`);
    for (let n = 1; n <= count; n++) {
      const started = Date.now();
      const result = await session(WebSocket, `${base}/runCase?case=${n}&${query}`, echo, caseTimeoutMs);
      const note = result.timedOut ? ' TIMEOUT (socket terminated)' : result.error ? ` error: ${result.error.message}` : '';
      console.log(`case ${n}/${count} ${Date.now() - started} ms${note}`);
    }
  }
  const updated = await session(WebSocket, `${base}/updateReports?${query}`, null, 60_000);
  if (updated.timedOut || updated.error) {
    console.error(`updateReports failed: ${updated.error?.message ?? 'timeout'}`);
    process.exit(1);
  }
  console.log('reports updated');
}

main().catch((error) => {
  console.error(error?.stack ?? error);
  process.exit(1);
});
