// Echo server on uWebSockets.js (@trufflesuite/uws-js-unofficial) for the benchmarks:
// node bench/servers/uws-echo.mjs --port P [--host 127.0.0.1]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { announceReady } from './native-modules.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const uWS = require('@trufflesuite/uws-js-unofficial');

const MiB = 1024 * 1024;
const stats = { sent: 0, backpressured: 0, dropped: 0 };

uWS
  .App()
  .ws('/*', {
    compression: uWS.DISABLED,
    // The defaults (16 KiB payload, 64 KiB backpressure) would refuse 16 MiB messages and silently drop
    // echoes under load; these limits are far above what any scenario keeps in flight.
    maxPayloadLength: 64 * MiB,
    maxBackpressure: 256 * MiB,
    closeOnBackpressureLimit: false,
    idleTimeout: 0,
    sendPingsAutomatically: false,
    message: (ws, message, isBinary) => {
      const status = ws.send(message, isBinary);
      if (status === 1) stats.sent++;
      else if (status === 0) stats.backpressured++;
      else stats.dropped++;
    },
  })
  .listen(values.host, Number(values.port), (listenSocket) => {
    if (!listenSocket) {
      process.stderr.write(`uws-echo: cannot listen on ${values.host}:${values.port}\n`);
      process.exit(1);
    }
    announceReady({ server: 'uWebSockets.js', version: require('@trufflesuite/uws-js-unofficial/package.json').version });
  });

const stop = () => {
  process.stderr.write(`uws-echo stats ${JSON.stringify(stats)}\n`);
  process.exit(stats.dropped > 0 ? 4 : 0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
