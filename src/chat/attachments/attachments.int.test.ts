import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import mongoose from "mongoose";
import sharp from "sharp";
import { openChat, type ChatClient } from "../../test/chat-client.js";
import type { TestBrowser } from "../../test/browser.js";
import { instances, PASSWORD, signedUpUser, startConversation } from "../../test/factories.js";
import { buildApp, connectServices, eventually, stack, type Services } from "../../test/support.js";
import { attachmentUrl, type AttachmentInfo } from "../protocol.js";
import { fetchAs, upload } from "../../test/attachments.js";
import { twoInARoom } from "../../test/chat-suite.js";

const [instanceA = "", instanceB = ""] = instances;

async function photoWithGps(): Promise<Buffer> {
  return sharp({ create: { width: 1600, height: 900, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .jpeg()
    .withExif({ IFD0: { Copyright: "exif-marker-do-not-keep", Artist: "exif-marker-do-not-keep" } })
    .toBuffer();
}

describe("Alice and Bob send each other files", () => {
  let services: Services;
  const open: ChatClient[] = [];
  const servers: Server[] = [];
  const connect = async (browser: TestBrowser, roomId: string, base: string) => {
    const client = await openChat(browser, roomId, { base: base.replace(/^http/, "ws") });
    open.push(client);
    await client.next("ready");
    return client;
  };
  /** An in-process app on the stack's services, with other attachment limits. */
  async function appWith(overrides: Record<string, string>): Promise<string> {
    const server = createServer(buildApp(services, overrides).callback());
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const chunksOf = async (uploadId: string) =>
    (await mongoose.connection.db
      ?.collection("attachmentchunks")
      .countDocuments({ _id: { $regex: `^${uploadId}:` } as never })) ?? 0;
  const stored = async (roomId: string) =>
    (await mongoose.connection.db?.collection("attachments").find({ roomId }).toArray()) ?? [];

  before(async () => {
    services = await connectServices();
  });
  after(async () => {
    for (const client of open) client.ws.terminate();
    for (const server of servers) server.close();
    await services.close();
  });

  it("a photo goes through nginx: inline preview without metadata, dimensions, the exact original on download", async () => {
    const alice = await signedUpUser("alice", stack.APP_URL);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const bobTab = await connect(bob.browser, roomId, instanceB);
    const aliceTab = await connect(alice.browser, roomId, instanceA);

    const photo = await photoWithGps();
    const sent = await upload(alice.browser, roomId, "photo1", { name: "holiday.jpg", type: "image/jpeg", data: photo });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.deepEqual(sent.body.attachment, {
      id: "photo1",
      name: "holiday.jpg",
      type: "image/jpeg",
      size: photo.length,
      image: { width: 1600, height: 900, previewWidth: 1280, previewHeight: 720 },
    });
    aliceTab.send({ type: "attach", clientId: "photo1", caption: "Look at this <b>sunset</b>" });
    const ack = await aliceTab.next("ack", (f) => f.clientId === "photo1");
    const atBob = await bobTab.next("message", (f) => f.seq === ack.seq);
    assert.equal(atBob.text, "Look at this <b>sunset</b>");
    assert.deepEqual(atBob.attachment, sent.body.attachment);

    const from = String(atBob.from);
    const url = attachmentUrl(roomId, from, "photo1");
    const preview = await fetchAs(bob.browser, stack.APP_URL, `${url}/preview`);
    assert.equal(preview.status, 200);
    assert.equal(preview.headers.get("content-type"), "image/webp");
    assert.match(preview.headers.get("x-content-type-options") ?? "", /^nosniff/);
    assert.match(preview.headers.get("content-security-policy") ?? "", /sandbox/);
    const previewBytes = Buffer.from(await preview.arrayBuffer());
    const meta = await sharp(previewBytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.exif], ["webp", 1280, 720, undefined]);
    assert.ok(!previewBytes.toString("latin1").includes("exif-marker"), "the preview carries no metadata");

    const download = await fetchAs(bob.browser, stack.APP_URL, url);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get("content-type"), "application/octet-stream");
    assert.match(download.headers.get("content-disposition") ?? "", /^attachment; filename="holiday.jpg"/);
    assert.match(download.headers.get("content-security-policy") ?? "", /sandbox/);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), photo);

    // History (a reload) shows the same attachment message.
    const history = JSON.parse((await bob.browser.get(`/api/rooms/${roomId}/messages`)).html) as {
      messages: Array<{ seq: number; attachment?: AttachmentInfo; text: string }>;
    };
    const inHistory = history.messages.find((m) => m.seq === ack.seq);
    assert.deepEqual(inHistory?.attachment, sent.body.attachment);
    assert.equal(inHistory?.text, "Look at this <b>sunset</b>");
  });

  it("a file is offered for download only, never rendered: an HTML or SVG file comes back as an opaque attachment", async () => {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const aliceTab = await connect(alice.browser, roomId, instanceA);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const sent = await upload(alice.browser, roomId, "svg1", { name: "../../résumé;.svg", type: "image/svg+xml", data: svg });
    assert.equal(sent.status, 201);
    assert.equal(sent.body.attachment?.image, undefined, "no inline preview for SVG");
    aliceTab.send({ type: "attach", clientId: "svg1", caption: "" });
    await aliceTab.next("ack", (f) => f.clientId === "svg1");
    const userId = (await mongoose.connection.db?.collection("attachments").findOne({ roomId }))?.senderId;
    const url = attachmentUrl(roomId, String(userId), "svg1");
    const download = await fetchAs(bob.browser, instanceB, url);
    assert.equal(download.headers.get("content-type"), "application/octet-stream");
    assert.match(
      download.headers.get("content-disposition") ?? "",
      /^attachment; filename="r_sum__.svg"; filename\*=UTF-8''r%C3%A9sum%C3%A9%3B.svg$/,
    );
    assert.equal((await fetchAs(bob.browser, instanceB, `${url}/preview`)).status, 404);
  });

  it("only the two members can fetch a room's files; anyone else gets 404", async () => {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const carol = await signedUpUser("carol", instanceA);
    const roomId = await startConversation(alice.browser, bob.email);
    const sent = await upload(alice.browser, roomId, "f1", { name: "a.txt", type: "text/plain", data: Buffer.from("hello") });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const aliceId = String((await mongoose.connection.db?.collection("attachments").findOne({ roomId }))?.senderId);
    const url = attachmentUrl(roomId, aliceId, "f1");
    assert.equal((await fetchAs(bob.browser, instanceB, url)).status, 200);
    assert.equal((await fetchAs(carol.browser, instanceA, url)).status, 404);
    assert.equal((await fetchAs(carol.browser, instanceA, `${url}/preview`)).status, 404);
    // Carol can't upload into their room either, nor put a file of her own under it.
    const intrusion = await upload(carol.browser, roomId, "f2", { name: "x.txt", type: "text/plain", data: Buffer.from("x") });
    assert.equal(intrusion.status, 404);
    // An unknown sender or id in the right room: the same 404.
    assert.equal((await fetchAs(bob.browser, instanceB, attachmentUrl(roomId, aliceId, "nope"))).status, 404);
    assert.equal((await fetchAs(bob.browser, instanceB, attachmentUrl(roomId, "x".repeat(24), "f1"))).status, 404);
  });

  it("an upload retried with the same client id is stored once; an attach without an upload is refused", async () => {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const data = randomBytes(200 * 1024);
    const first = await upload(alice.browser, roomId, "again", { name: "data.bin", type: "application/octet-stream", data });
    const second = await upload(alice.browser, roomId, "again", { name: "data.bin", type: "application/octet-stream", data });
    assert.deepEqual([first.status, second.status], [201, 200]);
    assert.deepEqual(second.body.attachment, first.body.attachment);
    const docs = await stored(roomId);
    assert.equal(docs.length, 1);
    assert.equal(await chunksOf(String(docs[0]?.uploadId)), 1, "200 KiB: four 64 KiB chunks in one document, stored once");

    const aliceTab = await connect(alice.browser, roomId, instanceA);
    aliceTab.send({ type: "attach", clientId: "never-uploaded", caption: "hm" });
    const refused = await aliceTab.next("error", (f) => f.clientId === "never-uploaded");
    assert.equal(refused.code, "not_found");
  });

  it("a file over the limit is refused with a clear error and leaves nothing stored", async () => {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const small = await appWith({ ATTACHMENT_MAX_MB: "1" });
    alice.browser.useInstance(small);
    // Declared too large: refused before a byte is stored.
    const declared = await upload(alice.browser, roomId, "big1", {
      name: "big.bin",
      type: "application/octet-stream",
      data: Buffer.alloc(2 * 1024 * 1024),
    });
    assert.equal(declared.status, 413);
    assert.equal(declared.body.error?.code, "file_too_large");
    assert.match(declared.body.error?.message ?? "", /larger than 1 MB/);
    // Just over: the stream is cut at the limit, and what was stored of it is removed.
    const over = await upload(alice.browser, roomId, "big2", {
      name: "big.bin",
      type: "application/octet-stream",
      data: Buffer.alloc(1024 * 1024 + 1),
    });
    assert.equal(over.status, 413);
    assert.equal(over.body.error?.code, "file_too_large");
    assert.deepEqual(await stored(roomId), []);
  });

  it("each user's storage quota and upload rate hold", async () => {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    alice.browser.useInstance(await appWith({ ATTACHMENT_QUOTA_MB: "1", ATTACHMENT_UPLOADS_PER_HOUR: "3" }));
    const file = { name: "q.bin", type: "application/octet-stream", data: randomBytes(600 * 1024) };
    assert.equal((await upload(alice.browser, roomId, "q1", file)).status, 201);
    const overQuota = await upload(alice.browser, roomId, "q2", file);
    assert.equal(overQuota.status, 413);
    assert.equal(overQuota.body.error?.code, "quota_exceeded");
    assert.equal((await upload(alice.browser, roomId, "q3", { ...file, data: Buffer.from("tiny") })).status, 201);
    const tooMany = await upload(alice.browser, roomId, "q4", { ...file, data: Buffer.from("tiny") });
    assert.equal(tooMany.status, 429);
  });

  it("deleting the message removes its file; deleting the account removes all of theirs", async () => {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const aliceTab = await connect(alice.browser, roomId, instanceA);
    const bobTab = await connect(bob.browser, roomId, instanceB);
    const file = (n: string) => ({ name: `${n}.bin`, type: "application/octet-stream", data: randomBytes(70 * 1024) });
    for (const id of ["d1", "d2", "d3"]) {
      assert.equal((await upload(alice.browser, roomId, id, file(id))).status, 201);
      aliceTab.send({ type: "attach", clientId: id, caption: "" });
    }
    const ack = await aliceTab.next("ack", (f) => f.clientId === "d1");
    await aliceTab.next("ack", (f) => f.clientId === "d3");
    const uploads = new Map((await stored(roomId)).map((d) => [String(d.clientId), String(d.uploadId)]));
    const aliceId = String((await stored(roomId))[0]?.senderId);

    aliceTab.send({ type: "delete", seq: ack.seq });
    await bobTab.next("deleted", (f) => f.seq === ack.seq);
    // The file goes right after the announcement.
    await eventually("the deleted message's file is gone", async () => {
      return (await fetchAs(bob.browser, instanceB, attachmentUrl(roomId, aliceId, "d1"))).status === 404;
    });
    // The record goes first (404 from then on), its chunks right after.
    await eventually("the deleted message's chunks are gone", async () => (await chunksOf(uploads.get("d1") ?? "")) === 0);
    assert.equal((await fetchAs(bob.browser, instanceB, attachmentUrl(roomId, aliceId, "d2"))).status, 200);

    const deleted = await alice.browser.post("/profile/delete", { currentPassword: PASSWORD });
    assert.equal(deleted.location, "/signin?deleted=1");
    assert.deepEqual(await stored(roomId), []);
    assert.equal(await chunksOf(uploads.get("d2") ?? ""), 0);
    assert.equal(await chunksOf(uploads.get("d3") ?? ""), 0);
    assert.equal((await fetchAs(bob.browser, instanceB, attachmentUrl(roomId, aliceId, "d2"))).status, 404);
  });

  it("a damaged chunk at rest is never served as plaintext", async () => {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const data = randomBytes(1200 * 1024);
    assert.equal(
      (await upload(alice.browser, roomId, "dmg", { name: "d.bin", type: "application/octet-stream", data })).status,
      201,
    );
    const [doc] = await stored(roomId);
    const chunks = mongoose.connection.db?.collection("attachmentchunks");
    // The third 64 KiB chunk of the first document (of two: 16 chunks each).
    const first = await chunks?.findOne({ _id: `${String(doc?.uploadId)}:0` as never });
    const bytes = Buffer.from((first?.data as { buffer: Uint8Array }).buffer);
    const at = 2 * (64 * 1024 + 16) + 10;
    bytes[at] = (bytes[at] ?? 0) ^ 1;
    await chunks?.updateOne({ _id: `${String(doc?.uploadId)}:0` as never }, { $set: { data: bytes } });
    const response = await fetchAs(bob.browser, instanceB, attachmentUrl(roomId, String(doc?.senderId), "dmg"));
    // The first two chunks authenticate and go out; the damaged one ends the response short.
    const got = await response.arrayBuffer().then(
      (b) => Buffer.from(b),
      () => undefined,
    );
    assert.ok(got === undefined || got.length < data.length, "the response is cut off, never completed");
    if (got) assert.ok(!got.includes(data.subarray(2 * 64 * 1024, 2 * 64 * 1024 + 64)));
  });

  it("audio plays from /audio with its own audio type (and nothing else does); only members reach it", async () => {
    const { alice, bob, roomId } = await twoInARoom("voice", [instanceA, instanceB]);
    const carol = await signedUpUser("voice-c", instanceA);
    const voice = Buffer.concat([Buffer.from("1a45dfa3", "hex"), randomBytes(40 * 1024)]);
    assert.equal(
      (await upload(alice.browser, roomId, "v1", { name: "Voice note.webm", type: "audio/webm", data: voice })).status,
      201,
    );
    // Declared audio, but HTML inside: served as audio, which a browser never renders as a page.
    const html = Buffer.from("<html><script>alert(1)</script></html>");
    assert.equal((await upload(alice.browser, roomId, "v2", { name: "x.html", type: "audio/ogg", data: html })).status, 201);
    assert.equal((await upload(alice.browser, roomId, "t1", { name: "a.html", type: "text/html", data: html })).status, 201);
    const url = (id: string) => `${attachmentUrl(roomId, alice.id, id)}/audio`;

    const played = await fetchAs(bob.browser, stack.APP_URL, url("v1"));
    assert.equal(played.status, 200);
    assert.equal(played.headers.get("content-type"), "audio/webm");
    assert.match(played.headers.get("x-content-type-options") ?? "", /^nosniff/);
    assert.match(played.headers.get("content-security-policy") ?? "", /sandbox/);
    assert.deepEqual(Buffer.from(await played.arrayBuffer()), voice);
    assert.equal((await fetchAs(bob.browser, instanceB, url("v2"))).headers.get("content-type"), "audio/ogg");
    assert.equal((await fetchAs(bob.browser, instanceB, url("t1"))).status, 404, "not audio: no player URL");
    assert.equal((await fetchAs(carol.browser, instanceA, url("v1"))).status, 404, "not a member");
  });

  it("a file whose chunks vanish mid-download (deleted meanwhile) ends that download; the instance keeps serving", async () => {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const data = randomBytes(2200 * 1024);
    const sent = await upload(alice.browser, roomId, "gone", { name: "g.bin", type: "application/octet-stream", data });
    assert.equal(sent.status, 201);
    const [doc] = await stored(roomId);
    // The second of three chunk documents is gone, as when the message is deleted during a download.
    await mongoose.connection.db?.collection("attachmentchunks").deleteOne({ _id: `${String(doc?.uploadId)}:1` as never });
    const response = await fetchAs(bob.browser, instanceB, attachmentUrl(roomId, String(doc?.senderId), "gone"));
    const got = await response.arrayBuffer().then(
      (b) => Buffer.from(b),
      () => undefined,
    );
    assert.ok(got === undefined || got.length < data.length, "the response is cut off, never completed");
    // The same instance answers the next request.
    const health = await fetch(`${instanceB}/healthz`).then(
      (r) => r.status,
      (err: unknown) => String(err),
    );
    assert.equal(health, 200, "the instance that served it is still up");
  });
});
