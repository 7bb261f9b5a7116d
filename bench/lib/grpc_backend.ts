// gRPC origin for the grpc-unary scenario: an h2c server that answers every unary call with one
// length-prefixed message and the grpc-status trailer, so proxies must forward trailers. Raw
// node:http2 keeps it cheap enough that the proxy, not the origin, is the bottleneck.
//   node bench/lib/grpc_backend.ts PORT
import http2 from 'node:http2';

const port = Number(process.argv[2]);
const reply = Buffer.from([0, 0, 0, 0, 5, 0x0a, 0x03, 0x61, 0x62, 0x63]); // field 1 = "abc"
const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
// load generators reset streams and connections when their time is up: that is not a failure
server.on('session', (session) => session.on('error', () => {}));
server.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.on('data', () => {});
  stream.on('end', () => {
    if (stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    stream.end(reply);
  });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
