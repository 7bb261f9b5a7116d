// Node's Buffer has fast per-encoding slicers that @types/node does not declare. latin1Slice maps
// one byte to one char with no encoding lookup, which the HTTP/1 codec relies on.
export {};
declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
  }
}
