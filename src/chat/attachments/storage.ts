/**
 * Sealed chunks in MongoDB: written one document per chunk as they come (the upload is never
 * buffered whole), read back by `_id` one at a time (the download neither), deleted in small
 * batches (FerretDB refuses very large commands; see the README's FerretDB notes).
 */
import { Readable, Writable } from "node:stream";
import { AttachmentChunkModel, chunkId } from "./model.js";

const DELETE_BATCH = 50;

/** A sink for sealed chunks; `count()` says how many it stored. */
export function chunkWriter(uploadId: string): Writable & { count(): number } {
  let n = 0;
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 2,
    write(chunk: Buffer, _encoding, done) {
      AttachmentChunkModel.collection.insertOne({ _id: chunkId(uploadId, n) as never, data: chunk }).then(() => {
        n++;
        done();
      }, done);
    },
  });
  return Object.assign(sink, { count: () => n });
}

/** The sealed chunks of one upload, in order, fetched one ahead of the reader. */
export function chunkReader(uploadId: string, count: number): Readable {
  let n = 0;
  return new Readable({
    objectMode: true,
    highWaterMark: 2,
    read() {
      if (n >= count) {
        this.push(null);
        return;
      }
      const id = chunkId(uploadId, n++);
      AttachmentChunkModel.collection.findOne({ _id: id as never }).then(
        (doc) => {
          const data = doc?.data as { buffer: Uint8Array } | undefined;
          if (!data) this.destroy(new Error(`attachment chunk ${id} is missing`));
          else this.push(Buffer.from(data.buffer));
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
