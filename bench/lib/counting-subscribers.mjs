// The subscriber side of bench/cluster-quick.mjs, run in a child
// process: `count` raw sockets that upgrade, then count the bytes that follow the 101 response. The parent
// sends { connect: port }, { expect: bytes } and { close: true }; the child answers { open: true } once
// every socket is upgraded and { done, cpu } once the expected bytes have arrived.
import { connect } from 'node:net';

export function runCountingSubscribers(count) {
  let total = 0;
  let target = Infinity;
  const check = () => {
    if (total >= target) {
      target = Infinity;
      process.send({ done: true, cpu: process.cpuUsage() });
    }
  };
  process.on('message', (message) => {
    if (message.connect !== undefined) {
      let open = 0;
      for (let i = 0; i < count; i++) {
        const socket = connect({ port: message.connect, host: '127.0.0.1', noDelay: true });
        let head = true;
        socket.on('data', (chunk) => {
          if (head) {
            const end = chunk.indexOf('\r\n\r\n');
            if (end === -1) return;
            head = false;
            chunk = chunk.subarray(end + 4);
            if (++open === count) process.send({ open: true });
          }
          total += chunk.length;
          check();
        });
        socket.write(
          'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      }
    } else if (message.expect !== undefined) {
      total = 0;
      target = message.expect;
      check();
    } else if (message.close) {
      process.exit(0);
    }
  });
}
