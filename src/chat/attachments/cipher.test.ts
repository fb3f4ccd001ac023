import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { CipherError } from "../cipher.js";
import { attachmentKey, CHUNK_BYTES, decryptChunks, encryptChunks, openBlob, sealBlob, SEALED_CHUNK_BYTES } from "./cipher.js";

const roomKey = randomBytes(32);
const salt = randomBytes(32);
const key = attachmentKey(roomKey, salt, "room-a", "room-a:user:c1");

async function collect(stream: Readable): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of stream) out.push(chunk as Buffer);
  return out;
}
const seal = (plain: Buffer, k = key, id = "room-a:user:c1") => collect(Readable.from([plain]).pipe(encryptChunks(k, id)));
const open = async (chunks: Buffer[], k = key, id = "room-a:user:c1") =>
  Buffer.concat(await collect(Readable.from(chunks, { objectMode: true }).pipe(decryptChunks(k, id))));

describe("attachment encryption in chunks", () => {
  it("any size comes back exactly, in 64 KiB chunks, the last one marked final", async () => {
    for (const size of [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17]) {
      const plain = randomBytes(size);
      const chunks = await seal(plain);
      assert.equal(chunks.length, Math.max(1, Math.ceil(size / CHUNK_BYTES)), `size ${size}`);
      for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.length, SEALED_CHUNK_BYTES);
      assert.deepEqual(await open(chunks), plain, `size ${size}`);
    }
  });

  it("reordered, dropped, duplicated, cut-short or altered chunks are refused", async () => {
    const chunks = await seal(randomBytes(3 * CHUNK_BYTES + 5));
    const [a, b, c, d] = chunks as [Buffer, Buffer, Buffer, Buffer];
    const flipped = Buffer.from(b);
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    for (const [what, damaged] of [
      ["reordered", [a, c, b, d]],
      ["dropped", [a, c, d]],
      ["duplicated", [a, b, b, c, d]],
      ["cut short (last chunk gone)", [a, b, c]],
      ["altered", [a, flipped, c, d]],
    ] as const)
      await assert.rejects(open([...damaged]), CipherError, what);
  });

  it("a file's chunks do not open as another attachment's, or under another room's key", async () => {
    const chunks = await seal(randomBytes(1000));
    await assert.rejects(open(chunks, key, "room-a:user:c2"), CipherError);
    await assert.rejects(open(chunks, attachmentKey(roomKey, salt, "room-b", "room-a:user:c1")), CipherError);
    await assert.rejects(open(chunks, attachmentKey(randomBytes(32), salt, "room-a", "room-a:user:c1")), CipherError);
  });

  it("nothing of a damaged chunk is released: the stream fails before emitting it", async () => {
    const plain = randomBytes(2 * CHUNK_BYTES + 10);
    const chunks = await seal(plain);
    const last = Buffer.from(chunks[2] as Buffer);
    last[0] = (last[0] ?? 0) ^ 1;
    const got: Buffer[] = [];
    const stream = Readable.from([chunks[0], chunks[1], last], { objectMode: true }).pipe(decryptChunks(key, "room-a:user:c1"));
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) got.push(chunk as Buffer);
      })(),
      CipherError,
    );
    // The first two chunks authenticated and were released; nothing of the third.
    assert.ok(Buffer.concat(got).length <= 2 * CHUNK_BYTES);
  });

  it("name, type and preview are sealed, bound to their purpose and attachment", () => {
    const sealed = sealBlob(key, "meta", "id1", Buffer.from('{"name":"plan.pdf"}'));
    assert.ok(!sealed.ct.toString("latin1").includes("plan.pdf"));
    assert.equal(openBlob(key, "meta", "id1", sealed).toString(), '{"name":"plan.pdf"}');
    assert.throws(() => openBlob(key, "preview", "id1", sealed), CipherError);
    assert.throws(() => openBlob(key, "meta", "id2", sealed), CipherError);
  });
});
