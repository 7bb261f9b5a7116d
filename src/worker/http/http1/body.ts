// Body framing for HTTP/1.1 messages. Bytes are relayed unchanged (a chunked body stays chunked
// end to end), so the decoder only has to find where the message ends and reject bad framing.

const S_SIZE = 0;
const S_EXT = 1;
const S_SIZE_LF = 2;
const S_DATA = 3;
const S_DATA_CR = 4;
const S_DATA_LF = 5;
const S_TRAILER_START = 6;
const S_TRAILER = 7;
const S_TRAILER_LF = 8;
const S_LAST_LF = 9;
const S_DONE = 10;

const MAX_SIZE_DIGITS = 15;

export class ChunkedScanner {
  private state = S_SIZE;
  private remaining = 0;
  private digits = 0;
  failed = false;

  get done(): boolean {
    return this.state === S_DONE;
  }

  reset(): void {
    this.state = S_SIZE;
    this.remaining = 0;
    this.digits = 0;
    this.failed = false;
  }

  /**
   * Scans buf[start, end). Returns the index just past the terminating chunk when the message
   * ends inside this range, `end` when more is needed, or -1 on malformed framing.
   */
  scan(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    while (i < end) {
      if (this.state === S_DATA) {
        const take = Math.min(this.remaining, end - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = S_DATA_CR;
        continue;
      }
      const st = this.step(buf[i]);
      i++;
      if (st < 0) {
        this.failed = true;
        return -1;
      }
      if (this.state === S_DONE) return i;
    }
    return end;
  }

  private step(c: number): number {
    switch (this.state) {
      case S_SIZE:
        return this.sizeChar(c);
      case S_EXT:
        if (c === 13) this.state = S_SIZE_LF;
        return c === 10 ? -1 : 0;
      case S_SIZE_LF:
        if (c !== 10) return -1;
        this.state = this.remaining === 0 ? S_TRAILER_START : S_DATA;
        return 0;
      case S_DATA_CR:
        if (c !== 13) return -1;
        this.state = S_DATA_LF;
        return 0;
      case S_DATA_LF:
        if (c !== 10) return -1;
        this.state = S_SIZE;
        this.digits = 0;
        return 0;
      case S_TRAILER_START:
        this.state = c === 13 ? S_LAST_LF : S_TRAILER;
        return 0;
      case S_TRAILER:
        if (c === 13) this.state = S_TRAILER_LF;
        return 0;
      case S_TRAILER_LF:
        if (c !== 10) return -1;
        this.state = S_TRAILER_START;
        return 0;
      case S_LAST_LF:
        if (c !== 10) return -1;
        this.state = S_DONE;
        return 0;
      default:
        return -1;
    }
  }

  private sizeChar(c: number): number {
    const v = hexValue(c);
    if (v >= 0) {
      if (++this.digits > MAX_SIZE_DIGITS) return -1;
      this.remaining = this.remaining * 16 + v;
      return 0;
    }
    if (this.digits === 0) return -1;
    if (c === 13) this.state = S_SIZE_LF;
    else if (c === 59 /* ; */ || c === 32 || c === 9) this.state = S_EXT;
    else return -1;
    return 0;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Frames a chunk for a chunked stream whose source was not chunked (read-until-close bodies). */
export function encodeChunk(data: Uint8Array): string {
  return data.length.toString(16) + '\r\n';
}
