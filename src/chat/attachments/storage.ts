/**
 * Sealed chunks in MongoDB: written sixteen to a document as they come (the upload is never
 * buffered whole), read back by `_id` one at a time (the download neither), deleted in small
 * batches (FerretDB refuses very large commands; see the README's FerretDB notes).
 */
import { Readable, Writable } from "node:stream";
import { SEALED_CHUNK_BYTES } from "./cipher.js";
import { AttachmentChunkModel, chunkId } from "./model.js";

const DELETE_BATCH = 50;

/**
 * Sealed chunks per stored document (1 MiB of file): a lookup by `_id` costs FerretDB about the
 * same whatever the document's size, so fewer, larger documents read a file faster (decision 009).
 */
export const CHUNKS_PER_DOCUMENT = 16;

/** A sink for sealed chunks, stored sixteen to a document; `count()` says how many documents. */
export function chunkWriter(uploadId: string): Writable & { count(): number } {
  let n = 0;
  let group: Buffer[] = [];
  const store = async (data: Buffer) => {
    await AttachmentChunkModel.collection.insertOne({ _id: chunkId(uploadId, n) as never, data });
    n++;
  };
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 2,
    write(chunk: Buffer, _encoding, done) {
      group.push(chunk);
      if (group.length < CHUNKS_PER_DOCUMENT) return done();
      const data = Buffer.concat(group);
      group = [];
      store(data).then(() => done(), done);
    },
    final(done) {
      if (group.length === 0) return done();
      store(Buffer.concat(group)).then(() => done(), done);
    },
  });
  return Object.assign(sink, { count: () => n });
}

// Documents fetched ahead of the reader (one lookup by `_id` each), so the next is on its way
// while one is sent: at most this many MiB held per download.
const READ_AHEAD = 2;

/** The sealed chunks of one upload, in order, as stored by `chunkWriter` (`count` documents). */
export function chunkReader(uploadId: string, count: number): Readable {
  let next = 0;
  const inFlight: Array<Promise<Buffer>> = [];
  const fetchDocument = async (n: number): Promise<Buffer> => {
    const doc = await AttachmentChunkModel.collection.findOne({ _id: chunkId(uploadId, n) as never });
    const data = doc?.data as { buffer: Uint8Array } | undefined;
    if (!data) throw new Error(`attachment chunk ${chunkId(uploadId, n)} is missing`);
    return Buffer.from(data.buffer);
  };
  return new Readable({
    objectMode: true,
    highWaterMark: CHUNKS_PER_DOCUMENT,
    read() {
      while (inFlight.length < READ_AHEAD && next < count) {
        const pending = fetchDocument(next++);
        pending.catch(() => undefined); // handled in order below
        inFlight.push(pending);
      }
      const first = inFlight.shift();
      if (!first) {
        this.push(null);
        return;
      }
      first.then(
        (data) => {
          // Sealed chunks are all full-size but the last, which may be shorter.
          for (let at = 0; at < data.length; at += SEALED_CHUNK_BYTES) this.push(data.subarray(at, at + SEALED_CHUNK_BYTES));
        },
        (err: Error) => this.destroy(err),
      );
    },
  });
}

/**
 * Deletes the chunks of one upload. With `count` unknown (an attempt that died midway), chunks
 * are deleted from 0 on until a batch finds fewer than it asked for: they are written in order.
 */
export async function deleteChunks(uploadId: string, count?: number): Promise<void> {
  for (let from = 0; ; from += DELETE_BATCH) {
    const to = count === undefined ? from + DELETE_BATCH : Math.min(count, from + DELETE_BATCH);
    if (to <= from) return;
    const ops = Array.from({ length: to - from }, (_, i) => ({ deleteOne: { filter: { _id: chunkId(uploadId, from + i) } } }));
    const result = await AttachmentChunkModel.collection.bulkWrite(ops as never, { ordered: false });
    if (count === undefined && result.deletedCount < ops.length) return;
  }
}
