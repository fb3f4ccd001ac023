/**
 * Attachment storage on the stack's database server: GridFS against Duet's own chunk collection
 * (one sealed 64 KiB chunk per document, read by `_id`). Reads one small (200 KiB) and one
 * 10 MiB file as the stored total grows. Works in a database of its own, dropped at the end.
 *
 *   node --import tsx scripts/attachment-storage-bench.ts [MONGODB_URI]
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import mongoose from "mongoose";
import { SEALED_CHUNK_BYTES } from "../src/chat/attachments/cipher.js";
import { chunkReader, chunkWriter, CHUNKS_PER_DOCUMENT } from "../src/chat/attachments/storage.js";
import { readStackEnv } from "./lib/stack-env.js";

const uri = new URL(process.argv[2] ?? readStackEnv().MONGODB_URI);
uri.pathname = `/duet_storage_bench_${randomBytes(3).toString("hex")}`;
await mongoose.connect(uri.toString());
const db = mongoose.connection.db;
if (!db) throw new Error("no database");
const bucket = new mongoose.mongo.GridFSBucket(db, { bucketName: "bench", chunkSizeBytes: SEALED_CHUNK_BYTES });
const records = (bytes: number) =>
  Array.from({ length: Math.ceil(bytes / SEALED_CHUNK_BYTES) }, () => randomBytes(SEALED_CHUNK_BYTES));

const time = async (work: () => Promise<unknown>) => {
  const start = performance.now();
  await work();
  return Math.round(performance.now() - start);
};
async function putGridFs(bytes: number) {
  const up = bucket.openUploadStream("f");
  await pipeline(Readable.from(records(bytes)), up);
  return up.id;
}
async function putOwn(bytes: number) {
  const id = randomBytes(8).toString("hex");
  const writer = chunkWriter(id);
  await pipeline(Readable.from(records(bytes), { objectMode: true }), writer);
  return { id, count: writer.count() };
}
const drain = async (stream: Readable) => {
  for await (const _ of stream);
};

const small = { gridfs: await putGridFs(200 * 1024), own: await putOwn(200 * 1024) };
let start = performance.now();
const bigGridFs = await putGridFs(10 << 20);
const writeGridFs = Math.round(performance.now() - start);
start = performance.now();
const bigOwn = await putOwn(10 << 20);
console.log(`write 10 MiB: GridFS ${writeGridFs} ms, own chunks ${Math.round(performance.now() - start)} ms`);
console.log("| stored | GridFS 200 KiB | own 200 KiB | GridFS 10 MiB | own 10 MiB |");
for (const total of [10, 50, 100]) {
  while ((await db.collection("attachmentchunks").estimatedDocumentCount()) * CHUNKS_PER_DOCUMENT * 64 < total * 1024) {
    await putGridFs(10 << 20);
    await putOwn(10 << 20);
  }
  const row = [
    await time(() => drain(bucket.openDownloadStream(small.gridfs))),
    await time(() => drain(chunkReader(small.own.id, small.own.count))),
    await time(() => drain(bucket.openDownloadStream(bigGridFs))),
    await time(() => drain(chunkReader(bigOwn.id, bigOwn.count))),
  ];
  console.log(`| ${total} MiB each | ${row.map((ms) => `${ms} ms`).join(" | ")} |`);
}
await db.dropDatabase();
await mongoose.disconnect();
