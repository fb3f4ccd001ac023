/**
 * Issue 6: scripts/backup writes the whole database, the wrapped keys included, and
 * scripts/restore brings it back, against the stack's real database server (FerretDB here,
 * MongoDB 7 in Docker, where the same program runs in the app container). Works in a
 * database of its own, so the stack's data is untouched.
 *
 * An archive is restored only if it is signed with this installation's backup key, and only
 * into Duet's own collections with Duet's own indexes: whoever can put a file where the
 * operator restores from must not be able to plant accounts, keys or index options.
 */
import { execFile } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Binary, MongoClient, ObjectId, type Db } from "mongodb";
import { deriveKey } from "../../src/keys.js";
import { readStackEnv } from "./stack-env.js";
import { ROOT } from "./settings.js";

const run = promisify(execFile);
type Doc = { _id: string } & Record<string, unknown>;
const stack = readStackEnv();
const backup = join(ROOT, "scripts", "backup");
const restore = join(ROOT, "scripts", "restore");

/** An archive's lines (without the signature line) signed as scripts/backup signs them. */
function signed(lines: string[], secret: string): Buffer {
  const body = lines.map((l) => `${l}\n`).join("");
  const mac = createHmac("sha256", deriveKey(secret, "backup-signing")).update(body).digest("base64url");
  return gzipSync(`${body}{"signature":"${mac}","algorithm":"HMAC-SHA256"}\n`);
}

describe("backing up and restoring the database", () => {
  const dir = mkdtempSync(join(tmpdir(), "duet-backup-"));
  const uri = new URL(stack.MONGODB_URI);
  uri.pathname = `/duet_backup_${randomBytes(4).toString("hex")}`;
  // The installation's own secrets, as the app container has them.
  const env = { ...process.env, MONGODB_URI: uri.toString(), SESSION_SECRETS: stack.SESSION_SECRETS };
  const secret = stack.SESSION_SECRETS.split(",")[0] ?? "";
  let client: MongoClient;
  let db: Db;

  const users = [
    { _id: "u-alice", email: "alice@example.org", displayName: "Alice", createdAt: new Date("2026-01-02T03:04:05.678Z") },
    { _id: "u-bob", email: "bob@example.org", displayName: "Bob", createdAt: new Date("2026-02-03T04:05:06.789Z") },
  ];
  // Each room's key, wrapped by a master key: binary data that must come back byte for byte.
  const wrapped = () => ({
    masterKeyId: "k1",
    iv: new Binary(randomBytes(12)),
    tag: new Binary(randomBytes(16)),
    wrapped: new Binary(randomBytes(32)),
  });
  const rooms = [
    { _id: "r-1", members: [new ObjectId(), new ObjectId()], pairKey: "p-1", key: wrapped(), keyId: 1, seq: 3 },
    { _id: "r-2", members: [new ObjectId(), new ObjectId()], pairKey: "p-2", key: wrapped(), keyId: 2, seq: 0 },
  ];
  const keyHex = (docs: Array<Record<string, unknown>>) =>
    docs.map((r) => {
      const key = r.key as Record<string, Binary>;
      const hex = (b: Binary | undefined) => (b ? Buffer.from(b.buffer).toString("hex") : "");
      return `${String(r._id)}:${hex(key.iv)}:${hex(key.tag)}:${hex(key.wrapped)}`;
    });
  const lines = (file: string) => gunzipSync(readFileSync(file)).toString().trimEnd().split("\n");
  const snapshot = async () => ({
    users: await db.collection("users").find().sort({ _id: 1 }).toArray(),
    rooms: keyHex(await db.collection("rooms").find().sort({ _id: 1 }).toArray()),
    collections: (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort(),
  });

  before(async () => {
    client = await MongoClient.connect(uri.toString());
    db = client.db();
    await db.collection<Doc>("users").insertMany(users);
    await db.collection<Doc>("users").createIndex({ email: 1 }, { unique: true });
    await db.collection<Doc>("rooms").insertMany(rooms);
  });

  after(async () => {
    await db.dropDatabase();
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a backup, then a restore after data loss, brings back every document, type and index", async () => {
    const file = join(dir, "duet.archive.gz");
    const untouched = await snapshot();
    const { stdout } = await run(backup, [file], { env });
    assert.equal(stdout.trim(), file);
    assert.deepEqual(await snapshot(), untouched, "a backup creates no collection");
    assert.equal(statSync(file).mode & 0o777, 0o600, "only the owner may read a backup");

    // Disaster: keys lost, a user deleted, a stranger added, the unique index gone.
    await db.collection("rooms").drop();
    await db.collection<Doc>("users").deleteOne({ _id: "u-bob" });
    await db.collection("users").dropIndex("email_1");
    await db.collection<Doc>("users").insertOne({ _id: "u-mallory", email: "mallory@example.org", displayName: "M" });

    await run(restore, ["--yes", file], { env });
    assert.deepEqual(await db.collection("users").find().sort({ _id: 1 }).toArray(), users);
    assert.deepEqual(keyHex(await db.collection("rooms").find().sort({ _id: 1 }).toArray()), keyHex(rooms));
    // The restored unique index holds again: a second account with Alice's address is refused.
    await assert.rejects(db.collection<Doc>("users").insertOne({ _id: "u-eve", email: "alice@example.org" }), /duplicate key/i);
  });

  test("a cut-short or altered archive is refused and replaces nothing", async () => {
    const file = join(dir, "whole.archive.gz");
    await run(backup, [file], { env });
    const whole = lines(file);
    const before = await db.collection("users").find().sort({ _id: 1 }).toArray();

    const cut = join(dir, "cut.archive.gz");
    writeFileSync(cut, gzipSync(whole.slice(0, -2).join("\n") + "\n"));
    await assert.rejects(run(restore, ["--yes", cut], { env }), /Nothing restored: .*cut short/);

    const altered = join(dir, "altered.archive.gz");
    writeFileSync(altered, gzipSync([...whole.slice(0, 3), ...whole.slice(4)].join("\n") + "\n"));
    await assert.rejects(run(restore, ["--yes", altered], { env }), /Nothing restored: .*documents/);

    const foreign = join(dir, "foreign.archive.gz");
    writeFileSync(foreign, gzipSync('{"hello":"world"}\n'));
    await assert.rejects(run(restore, ["--yes", foreign], { env }), /Nothing restored: .*not a Duet backup/);

    assert.deepEqual(await db.collection("users").find().sort({ _id: 1 }).toArray(), before);
    assert.equal(await db.collection("rooms").countDocuments(), rooms.length);
  });

  test("an unsigned archive is refused and replaces nothing", async () => {
    const file = join(dir, "signed.archive.gz");
    await run(backup, [file], { env });
    const whole = lines(file);
    assert.match(whole.at(-1) ?? "", /^\{"signature":/, "the last line signs the archive");
    const before = await snapshot();

    const unsigned = join(dir, "unsigned.archive.gz");
    writeFileSync(unsigned, gzipSync(whole.slice(0, -1).join("\n") + "\n"));
    await db.collection<Doc>("users").deleteOne({ _id: "u-alice" });
    const now = await snapshot();
    await assert.rejects(run(restore, ["--yes", unsigned], { env }), /Nothing restored: .*not signed/);
    assert.deepEqual(await snapshot(), now);
    await run(restore, ["--yes", file], { env });
    assert.deepEqual(await snapshot(), before, "the signed original still restores");
  });

  test("an archive with one byte changed is refused and replaces nothing", async () => {
    const file = join(dir, "tampered.archive.gz");
    await run(backup, [file], { env });
    // A well-formed change: Bob's address becomes Mallory's, every count still right.
    const text = gunzipSync(readFileSync(file)).toString();
    assert.ok(text.includes("bob@example.org"));
    writeFileSync(file, gzipSync(text.replace("bob@example.org", "bob@example.orh")));
    const before = await snapshot();
    await assert.rejects(run(restore, ["--yes", file], { env }), /Nothing restored: .*signature does not match/);
    assert.deepEqual(await snapshot(), before);
  });

  test("an archive signed by another installation is refused, unless its key is given with BACKUP_SIGNING_KEY", async () => {
    const otherKey = randomBytes(32).toString("hex");
    const file = join(dir, "other.archive.gz");
    await run(backup, [file], { env: { ...env, BACKUP_SIGNING_KEY: otherKey } });
    const before = await snapshot();
    await assert.rejects(run(restore, ["--yes", file], { env }), /Nothing restored: .*signature does not match/);
    assert.deepEqual(await snapshot(), before);
    await assert.rejects(
      run(restore, ["--yes", file], { env: { ...env, BACKUP_SIGNING_KEY: randomBytes(32).toString("hex") } }),
      /Nothing restored: .*signature does not match/,
    );
    // Restoring into another installation: the key that signed it, given explicitly.
    await run(restore, ["--yes", file], { env: { ...env, BACKUP_SIGNING_KEY: otherKey } });
    assert.deepEqual(await snapshot(), before);
  });

  test("a signed archive holding a collection or index Duet does not write is refused and replaces nothing", async () => {
    const file = join(dir, "base.archive.gz");
    await run(backup, [file], { env });
    const body = lines(file).slice(0, -1); // without its signature
    const endLine = JSON.parse(body.at(-1) ?? "{}") as { collections: number; documents: number };
    const before = await snapshot();
    const attempt = async (name: string, archiveLines: string[], expected: RegExp) => {
      const forged = join(dir, `${name}.archive.gz`);
      writeFileSync(forged, signed(archiveLines, secret));
      await assert.rejects(run(restore, ["--yes", forged], { env }), expected);
      assert.deepEqual(await snapshot(), before, `${name} replaced nothing`);
    };

    // Even signed with the right key (a leaked key, a bug), an extra collection is not taken.
    await attempt(
      "extra-collection",
      [
        ...body.slice(0, -1),
        JSON.stringify({ collection: "system.js", indexes: [], count: 1 }),
        JSON.stringify({ d: { _id: "planted", value: { $code: "function () { return 1; }" } } }),
        JSON.stringify({ end: true, collections: endLine.collections + 1, documents: endLine.documents + 1 }),
      ],
      /Nothing restored: .*system\.js is not a collection Duet writes/,
    );
    const usersAt = body.findIndex((l) => l.startsWith('{"collection":"users"'));
    assert.ok(usersAt > 0);
    const usersLine = JSON.parse(body[usersAt] ?? "{}") as { indexes: Array<Record<string, unknown>> };
    const withIndex = (index: Record<string, unknown>) =>
      body.map((l, i) => (i === usersAt ? JSON.stringify({ ...usersLine, indexes: [...usersLine.indexes, index] }) : l));
    // Documents that expire at once: a TTL index on a field Duet indexes, and one on a field it does not.
    await attempt(
      "ttl-on-email",
      withIndex({ name: "email_ttl", key: { email: 1 }, expireAfterSeconds: 0 }),
      /Nothing restored: .*index email_ttl on users .*not one Duet defines/,
    );
    await attempt(
      "ttl-on-created",
      withIndex({ name: "wipe", key: { createdAt: 1 }, expireAfterSeconds: 1 }),
      /Nothing restored: .*index wipe on users .*not one Duet defines/,
    );
    // A unique index Duet does not have would make sign-ups fail.
    await attempt(
      "unique-name",
      withIndex({ name: "one_name", key: { displayName: 1 }, unique: true }),
      /Nothing restored: .*index one_name on users .*not one Duet defines/,
    );
  });

  test("restore without a terminal or --yes replaces nothing", async () => {
    const file = join(dir, "again.archive.gz");
    await run(backup, [file], { env });
    await db.collection<Doc>("users").insertOne({ _id: "u-carol", email: "carol@example.org", displayName: "Carol" });
    const count = await db.collection("users").countDocuments();
    await assert.rejects(run(restore, [file], { env }), /Nothing restored/);
    assert.equal(await db.collection("users").countDocuments(), count);
  });
});
