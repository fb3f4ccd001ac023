/**
 * Issue 6: scripts/backup writes the whole database, the wrapped keys included, and
 * scripts/restore brings it back, against the stack's real database server (FerretDB here,
 * MongoDB 7 in Docker, where the same program runs in the app container). Works in a
 * database of its own, so the stack's data is untouched.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Binary, MongoClient, ObjectId, type Db } from "mongodb";
import { readStackEnv } from "./stack-env.js";
import { ROOT } from "./settings.js";

const run = promisify(execFile);
type Doc = { _id: string } & Record<string, unknown>;
const stack = readStackEnv();

describe("backing up and restoring the database", () => {
  const dir = mkdtempSync(join(tmpdir(), "duet-backup-"));
  const uri = new URL(stack.MONGODB_URI);
  uri.pathname = `/duet_backup_${randomBytes(4).toString("hex")}`;
  const env = { ...process.env, MONGODB_URI: uri.toString() };
  let client: MongoClient;
  let db: Db;

  const users = [
    { _id: "u-alice", email: "alice@example.org", displayName: "Alice", createdAt: new Date("2026-01-02T03:04:05.678Z") },
    { _id: "u-bob", email: "bob@example.org", displayName: "Bob", createdAt: new Date("2026-02-03T04:05:06.789Z") },
  ];
  const wrappedKeys = [
    { _id: "k-1", userId: new ObjectId(), wrapped: new Binary(randomBytes(60)), version: 1 },
    { _id: "k-2", userId: new ObjectId(), wrapped: new Binary(randomBytes(60)), version: 1 },
  ];
  const keyHex = (docs: Array<Record<string, unknown>>) =>
    docs.map((k) => `${String(k.userId)}:${Buffer.from((k.wrapped as Binary).buffer).toString("hex")}`);

  before(async () => {
    client = await MongoClient.connect(uri.toString());
    db = client.db();
    await db.collection<Doc>("users").insertMany(users);
    await db.collection<Doc>("users").createIndex({ email: 1 }, { unique: true, name: "email_unique" });
    await db.collection<Doc>("wrappedkeys").insertMany(wrappedKeys);
  });

  after(async () => {
    await db.dropDatabase();
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a backup, then a restore after data loss, brings back every document, type and index", async () => {
    const file = join(dir, "duet.archive.gz");
    const { stdout } = await run(join(ROOT, "scripts", "backup"), [file], { env });
    assert.equal(stdout.trim(), file);
    assert.equal(statSync(file).mode & 0o777, 0o600, "only the owner may read a backup");

    // Disaster: keys lost, a user deleted, a stranger added, the unique index gone.
    await db.collection("wrappedkeys").drop();
    await db.collection<Doc>("users").deleteOne({ _id: "u-bob" });
    await db.collection("users").dropIndex("email_unique");
    await db.collection<Doc>("users").insertOne({ _id: "u-mallory", email: "mallory@example.org", displayName: "M" });

    await run(join(ROOT, "scripts", "restore"), ["--yes", file], { env });
    assert.deepEqual(await db.collection("users").find().sort({ _id: 1 }).toArray(), users);
    assert.deepEqual(keyHex(await db.collection("wrappedkeys").find().sort({ _id: 1 }).toArray()), keyHex(wrappedKeys));
    // The restored unique index holds again: a second account with Alice's address is refused.
    await assert.rejects(db.collection<Doc>("users").insertOne({ _id: "u-eve", email: "alice@example.org" }), /duplicate key/i);
  });

  test("a cut-short or altered archive is refused and replaces nothing", async () => {
    const file = join(dir, "whole.archive.gz");
    await run(join(ROOT, "scripts", "backup"), [file], { env });
    const lines = gunzipSync(readFileSync(file)).toString().trimEnd().split("\n");
    const before = await db.collection("users").find().sort({ _id: 1 }).toArray();

    const cut = join(dir, "cut.archive.gz");
    writeFileSync(cut, gzipSync(lines.slice(0, -2).join("\n") + "\n"));
    await assert.rejects(run(join(ROOT, "scripts", "restore"), ["--yes", cut], { env }), /Nothing restored: .*cut short/);

    const altered = join(dir, "altered.archive.gz");
    writeFileSync(altered, gzipSync([...lines.slice(0, 3), ...lines.slice(4)].join("\n") + "\n"));
    await assert.rejects(run(join(ROOT, "scripts", "restore"), ["--yes", altered], { env }), /Nothing restored: .*documents/);

    const foreign = join(dir, "foreign.archive.gz");
    writeFileSync(foreign, gzipSync('{"hello":"world"}\n'));
    await assert.rejects(
      run(join(ROOT, "scripts", "restore"), ["--yes", foreign], { env }),
      /Nothing restored: .*not a Duet backup/,
    );

    assert.deepEqual(await db.collection("users").find().sort({ _id: 1 }).toArray(), before);
    assert.equal(await db.collection("wrappedkeys").countDocuments(), wrappedKeys.length);
  });

  test("restore without a terminal or --yes replaces nothing", async () => {
    const file = join(dir, "again.archive.gz");
    await run(join(ROOT, "scripts", "backup"), [file], { env });
    await db.collection<Doc>("users").insertOne({ _id: "u-carol", email: "carol@example.org", displayName: "Carol" });
    await assert.rejects(run(join(ROOT, "scripts", "restore"), [file], { env }), /Nothing restored/);
    assert.equal(await db.collection("users").countDocuments(), 3);
  });
});
