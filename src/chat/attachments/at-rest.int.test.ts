/**
 * No plaintext byte of an attachment, its name, its type or its caption lands anywhere at rest:
 * not in any MongoDB collection, not in Redis, not in any file of the stack (the database's
 * files, Redis's append-only file, every log, nginx's temporary files), looked at as an
 * administrator would. And backups hold attachments, which a restore brings back byte for byte.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import mongoose from "mongoose";
import { clusterDir } from "../../../scripts/lib/postgres.js";
import { ROOT, stackSettings } from "../../../scripts/lib/settings.js";
import { openChat, type ChatClient } from "../../test/chat-client.js";
import type { TestBrowser } from "../../test/browser.js";
import { instances, signedUpUser, startConversation } from "../../test/factories.js";
import { connectServices, stack, type Services } from "../../test/support.js";
import { instanceChannel } from "../hub.js";
import { attachmentUrl, type AttachmentInfo } from "../protocol.js";

const run = promisify(execFile);
const [instanceA = "", instanceB = ""] = instances;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

async function fetchAs(browser: TestBrowser, base: string, path: string): Promise<Buffer> {
  const cookie = ["__Host-duet.sid", "__Host-duet.sid.sig"].map((n) => `${n}=${browser.cookie(n) ?? ""}`).join("; ");
  const res = await fetch(`${base}${path}`, { headers: { Cookie: cookie } });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

describe("attachments at rest", () => {
  let services: Services;
  const open: ChatClient[] = [];
  before(async () => {
    services = await connectServices();
  });
  after(async () => {
    for (const client of open) client.ws.terminate();
    await services.close();
  });

  it("no plaintext of a file, its name, type or caption reaches MongoDB, Redis, the disk or the logs", async () => {
    const tag = randomBytes(6).toString("hex");
    const secrets = {
      content: `file-content-${tag}`,
      name: `name-${tag}.txt`,
      type: `application/x-type-${tag}`,
      caption: `caption-${tag}`,
    };
    // Several chunks' worth, so chunk boundaries are covered too.
    const content = Buffer.from(`${secrets.content} `.repeat(Math.ceil((200 * 1024) / (secrets.content.length + 1))));
    const alice = await signedUpUser("alice", stack.APP_URL);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const aliceTab = await openChat(alice.browser, roomId, { base: instanceA.replace(/^http/, "ws") });
    const bobTab = await openChat(bob.browser, roomId, { base: instanceB.replace(/^http/, "ws") });
    open.push(aliceTab, bobTab);
    await Promise.all([aliceTab.next("ready"), bobTab.next("ready")]);

    const spy = new Redis(stack.REDIS_ADMIN_URL);
    const traffic: string[] = [];
    // Every instance's channel: what the hub sends anywhere.
    await spy.psubscribe(instanceChannel("*"));
    spy.on("pmessage", (_pattern: string, _channel: string, raw: string) => traffic.push(raw));

    // Through nginx, as a browser sends it.
    const sent = await alice.browser.upload(
      `/api/rooms/${roomId}/attachments?clientId=secret1`,
      {},
      { field: "file", name: secrets.name, type: secrets.type, data: content },
    );
    assert.equal(sent.status, 201, sent.html);
    aliceTab.send({ type: "attach", clientId: "secret1", caption: secrets.caption });
    const atBob = await bobTab.next("message", (f) => f.clientId === "secret1");
    assert.equal(atBob.attachment?.name, secrets.name);
    assert.equal(atBob.attachment?.type, secrets.type);
    assert.deepEqual(await fetchAs(bob.browser, stack.APP_URL, attachmentUrl(roomId, atBob.from, "secret1")), content);
    spy.disconnect();

    const found: string[] = [];
    // FerretDB keeps documents as JSON in SQLite, binary fields in base64: each secret is looked
    // for as is and as base64 at each of the three byte alignments.
    const forms = Object.entries(secrets).flatMap(([what, secret]) => [
      [what, secret],
      ...[0, 1, 2].map((o) => [
        `${what} (base64)`,
        Buffer.from("x".repeat(o) + secret)
          .toString("base64")
          .slice(Math.ceil(o / 3) * 4, -4),
      ]),
    ]);
    const look = (where: string, bytes: Buffer | string) => {
      const text = Buffer.isBuffer(bytes) ? bytes.toString("latin1") : bytes;
      for (const [what, secret] of forms) if (secret && text.includes(secret)) found.push(`${what} in ${where}`);
    };
    look("Redis pub/sub", traffic.join("\n"));
    const db = mongoose.connection.db;
    for (const { name } of (await db?.listCollections({}, { nameOnly: true }).toArray()) ?? [])
      for await (const doc of db?.collection(name).find() ?? [])
        look(`MongoDB ${name}`, Buffer.from(mongoose.mongo.BSON.serialize(doc)));
    const admin = new Redis(stack.REDIS_ADMIN_URL);
    for (const key of await admin.keys("*")) {
      const type = await admin.type(key);
      const value =
        type === "string"
          ? await admin.getBuffer(key)
          : type === "hash"
            ? JSON.stringify(await admin.hgetall(key))
            : type === "set"
              ? JSON.stringify(await admin.smembers(key))
              : type === "list"
                ? JSON.stringify(await admin.lrange(key, 0, -1))
                : "";
      look(`Redis ${key}`, value ?? "");
    }
    admin.disconnect();
    // Every file of the stack: the database's (PostgreSQL's cluster, or FerretDB's SQLite files
    // and write-ahead log), Redis's AOF, logs. The cluster may live outside the stack's directory.
    const { dir } = stackSettings();
    const cluster = clusterDir(stackSettings());
    const files = [...filesUnder(dir), ...(cluster.startsWith(dir) || !existsSync(cluster) ? [] : filesUnder(cluster))];
    for (const file of files) if (statSync(file).size < 512 * 1024 * 1024) look(file, readFileSync(file));
    assert.deepEqual(found, []);
    // nginx streamed the upload and the download: it never wrote either to a temporary file.
    // (Other uploads, the avatar's, are buffered by design: only requests to a room's attachments
    // are checked, not, say, the attack test's fuzzed POST to /api/rooms/%2e%2e%2f%2e%2e/attachments,
    // which nginx resolves to another path and buffers like any other request of its size.)
    const buffered = readFileSync(join(dir, "logs", "nginx.log"), "utf8")
      .split("\n")
      .filter(
        (line) =>
          line.includes("buffered to a temporary file") &&
          /request: "[A-Z]+ \/api\/rooms\/[A-Za-z0-9_-]{22}\/attachments/.test(line),
      );
    assert.deepEqual(buffered, []);
  });

  it("a backup holds the attachments and a restore brings them back byte for byte", async () => {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const data = randomBytes(100 * 1024);
    const sent = await alice.browser.upload(
      `/api/rooms/${roomId}/attachments?clientId=kept`,
      {},
      { field: "file", name: "kept.bin", type: "application/octet-stream", data },
    );
    assert.equal(sent.status, 201);
    const info = (JSON.parse(sent.html) as { attachment: AttachmentInfo }).attachment;
    assert.equal(info.size, data.length);

    const dir = mkdtempSync(join(tmpdir(), "duet-attachment-backup-"));
    const target = new URL(stack.MONGODB_URI);
    target.pathname = `/duet_restore_${randomBytes(4).toString("hex")}`;
    const client = await MongoClient.connect(target.toString());
    try {
      const file = join(dir, "duet.archive.gz");
      const env = { ...process.env, MONGODB_URI: stack.MONGODB_URI, SESSION_SECRETS: stack.SESSION_SECRETS };
      await run(join(ROOT, "scripts", "backup"), [file], { env });
      await run(join(ROOT, "scripts", "restore"), ["--yes", file], { env: { ...env, MONGODB_URI: target.toString() } });
      const source = mongoose.connection.db;
      const original = await source?.collection("attachments").findOne({ roomId });
      const restored = await client.db().collection("attachments").findOne({ roomId });
      assert.ok(original && restored);
      assert.deepEqual(mongoose.mongo.BSON.serialize(restored), mongoose.mongo.BSON.serialize(original));
      for (let n = 0; n < Number(original.chunks); n++) {
        const id: string = `${String(original.uploadId)}:${n}`;
        const a = await source
          ?.collection<{ _id: string; data: { buffer: Uint8Array } }>("attachmentchunks")
          .findOne({ _id: id });
        const b = await client
          .db()
          .collection<{ _id: string; data: { buffer: Uint8Array } }>("attachmentchunks")
          .findOne({ _id: id });
        assert.ok(a && b, `chunk ${n} restored`);
        assert.deepEqual(Buffer.from(b.data.buffer), Buffer.from(a.data.buffer));
      }
    } finally {
      await client.db().dropDatabase();
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
