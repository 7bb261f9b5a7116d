// HTTP/1.1 chunked framing → payload, for bodies crossing between the HTTP/1.1 and HTTP/2 codecs.
// Inside the proxy a body keeps the framing its head declares (http1/body.ts relays chunked bytes
// unchanged), so an HTTP/2 side meeting a chunked body strips the framing here. The framing was
// already validated by the HTTP/1.1 side that produced it; this only has to follow it.

const SIZE = 0;
const EXT = 1;
const DATA = 2;
const DATA_END = 3;
const TRAILERS = 4;
const DONE = 5;

export interface PayloadSink {
  payload(buf: Buffer, start: number, end: number): void;
}

export class ChunkedDecoder {
  private state = SIZE;
  private size = 0;
  private remaining = 0;
  /** Trailer section: counts consecutive line ends to find the blank line. */
  private lineLen = 0;

  get done(): boolean {
    return this.state === DONE;
  }

  /** Feeds buf[start, end); payload ranges go to `sink` as they are found. */
  decode(buf: Buffer, start: number, end: number, sink: PayloadSink): void {
    let i = start;
    while (i < end && this.state !== DONE) {
      const st = this.state;
      if (st === DATA) {
        const n = Math.min(this.remaining, end - i);
        sink.payload(buf, i, i + n);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = DATA_END;
        continue;
      }
      const c = buf[i++];
      if (st === SIZE) {
        if (c === 10) this.endOfSizeLine();
        else if (c === 59 /* ; */ || c === 32 || c === 9) this.state = EXT;
        else if (c !== 13) this.size = this.size * 16 + hex(c);
      } else if (st === EXT) {
        if (c === 10) this.endOfSizeLine();
      } else if (st === DATA_END) {
        if (c === 10) this.state = SIZE;
      } else if (c === 10) {
        // TRAILERS: an empty line ends the message.
        if (this.lineLen === 0) this.state = DONE;
        this.lineLen = 0;
      } else if (c !== 13) {
        this.lineLen++;
      }
    }
  }

  private endOfSizeLine(): void {
    if (this.size === 0) {
      this.state = TRAILERS;
      this.lineLen = 0;
    } else {
      this.state = DATA;
      this.remaining = this.size;
    }
    this.size = 0;
  }
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  return (c | 0x20) - 87;
}

const LAST = Buffer.from('0\r\n\r\n', 'latin1');

/** One payload chunk in HTTP/1.1 chunked framing. */
export function frameChunk(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(data.length.toString(16) + '\r\n', 'latin1'), data, CRLF]);
}
const CRLF = Buffer.from('\r\n', 'latin1');

/** The terminating chunk (no trailers). */
export function lastChunk(): Buffer {
  return LAST;
}
