'use strict';
// A round trip through a broker with the npm `mqtt` client (a real third-party peer for
// the WebSocket tests): a subscriber and a publisher, each on its own URL (ws://, wss://
// or mqtt://), publishing messages of the given sizes at QoS 1. Prints "OK <n>" and exits
// 0 when every message arrived intact and in order; non-zero with a reason otherwise.
//
//   node roundtrip.js '{"sub_url": "ws://127.0.0.1:9001", "pub_url": "ws://127.0.0.1:9001",
//                       "topic": "t/1", "sizes": [1, 100000], "ca": "/path/ca.crt", "version": 5}'
const fs = require('fs');
const mqtt = require('mqtt');

const args = JSON.parse(process.argv[2]);
const tls = args.ca ? { ca: fs.readFileSync(args.ca), rejectUnauthorized: true } : {};

function options(id) {
  return Object.assign({ clientId: id, protocolVersion: args.version || 4, reconnectPeriod: 0, connectTimeout: 5000 },
                       tls);
}

function fail(code, why) {
  console.error(why);
  process.exit(code);
}

const fill = (i) => 65 + (i % 26);
let got = 0;
const timer = setTimeout(() => fail(2, `timeout: got ${got} of ${args.sizes.length}`), args.timeout_ms || 15000);

const sub = mqtt.connect(args.sub_url, options('node-sub'));
sub.on('error', (e) => fail(1, `subscriber error: ${e.message}`));
sub.on('message', (topic, payload) => {
  const i = got;
  if (topic !== args.topic || payload.length !== args.sizes[i] || (payload.length > 0 && payload[0] !== fill(i))) {
    fail(3, `message ${i}: topic ${topic}, ${payload.length} bytes, expected ${args.sizes[i]}`);
  }
  got += 1;
  if (got === args.sizes.length) {
    clearTimeout(timer);
    console.log(`OK ${got}`);
    sub.end(true, () => process.exit(0));
  }
});
sub.on('connect', () => {
  sub.subscribe(args.topic, { qos: 1 }, (err) => {
    if (err) fail(1, `subscribe failed: ${err.message}`);
    const pub = mqtt.connect(args.pub_url, options('node-pub'));
    pub.on('error', (e) => fail(1, `publisher error: ${e.message}`));
    pub.on('connect', () => {
      args.sizes.forEach((n, i) => pub.publish(args.topic, Buffer.alloc(n, fill(i)), { qos: 1 }));
      pub.end(false);
    });
  });
});
