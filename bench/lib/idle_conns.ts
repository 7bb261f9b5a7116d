// Opens N HTTP/1.1 keep-alive connections to a proxy, sends one request on each, waits for its
// response, then holds them all idle until terminated. Prints one JSON line once every connection
// has its answer (or failed): {"held":N,"failed":M,"ms":T}.
//   node bench/lib/idle_conns.ts PORT N
import net from 'node:net';

const port = Number(process.argv[2]);
const total = Number(process.argv[3]);
const PARALLEL = 200; // connects in flight at once: no SYN flood against the accept queue
const REQ = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
const held: net.Socket[] = [];
let started = 0;
let done = 0;
let failed = 0;
const t0 = Date.now();

function finish(): void {
  if (done + failed !== total) return;
  process.stdout.write(`${JSON.stringify({ held: done, failed, ms: Date.now() - t0 })}\n`);
}

function openOne(): void {
  if (started >= total) return;
  started++;
  const s = net.connect({ port, host: '127.0.0.1' });
  let answered = false;
  let seen = '';
  s.setTimeout(20_000);
  s.once('connect', () => s.write(REQ));
  s.on('data', (d: Buffer) => {
    if (answered) return;
    seen += d.toString('latin1');
    // every scenario origin answers "hello world\n" on /; the response is complete once it arrived
    if (!seen.endsWith('hello world\n')) return;
    answered = true;
    s.setTimeout(0);
    held.push(s);
    done++;
    finish();
    openOne();
  });
  const fail = () => {
    if (answered) return;
    answered = true;
    s.destroy();
    failed++;
    finish();
    openOne();
  };
  s.once('timeout', fail);
  s.once('error', fail);
  s.once('close', fail);
}

for (let i = 0; i < PARALLEL; i++) openOne();
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
