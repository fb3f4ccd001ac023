/**
 * Splits a stream into lines, byte for byte (no newline translation, no decoding), so the
 * signature is checked over exactly the bytes that are parsed.
 */
import type { Readable } from "node:stream";

/**
 * Above any line Duet writes (a MongoDB document is at most 16 MiB, and its Extended JSON a
 * little more than a third larger), so a file without newlines cannot fill the memory.
 */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;

export class LineTooLong extends Error {}

/** Yields each line without its "\n"; a last line without one is yielded too. */
export async function* splitLines(input: Readable, maxBytes = MAX_LINE_BYTES): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, end));
      yield pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      start = end + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxBytes) throw new LineTooLong(`a line longer than ${maxBytes} bytes`);
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}
