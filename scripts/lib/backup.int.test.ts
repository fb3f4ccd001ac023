/**
 * Issue 6: scripts/backup dumps the database with mongodump, the wrapped keys included, and
 * scripts/restore brings it back with mongorestore, against the stack's real database
 * server (FerretDB here, MongoDB 7 in Docker). Works in a database of its own, so the
 * stack's data is untouched.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Binary, MongoClient, type Db } from "mongodb";
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
    { _id: "u-alice", email: "alice@example.org", displayName: "Alice" },
    { _id: "u-bob", email: "bob@example.org", displayName: "Bob" },
  ];
  const wrappedKeys = [
    { _id: "k-1", userId: "u-alice", wrapped: new Binary(randomBytes(60)), version: 1 },
    { _id: "k-2", userId: "u-bob", wrapped: new Binary(randomBytes(60)), version: 1 },
  ];

  before(async () => {
    client = await MongoClient.connect(uri.toString());
    db = client.db();
    await db.collection<Doc>("users").insertMany(users);
    await db.collection<Doc>("wrappedkeys").insertMany(wrappedKeys);
  });

  after(async () => {
    await db.dropDatabase();
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a backup, then a restore after data loss, brings back every document and key byte for byte", async () => {
    const file = join(dir, "duet.archive.gz");
    const { stdout } = await run(join(ROOT, "scripts", "backup"), [file], { env });
    assert.equal(stdout.trim(), file);
    assert.equal(statSync(file).mode & 0o777, 0o600, "only the owner may read a backup");

    // Disaster: a key lost, a user deleted, a stranger's row added.
    await db.collection("wrappedkeys").drop();
    await db.collection<Doc>("users").deleteOne({ _id: "u-bob" });
    await db.collection<Doc>("users").insertOne({ _id: "u-mallory", email: "mallory@example.org", displayName: "M" });

    // FerretDB refuses mongorestore's index options (see scripts/restore); the app rebuilds
    // its indexes at start, and MongoDB 7 (Docker) restores them from the archive.
    await run(join(ROOT, "scripts", "restore"), ["--yes", "--no-indexes", file], { env });
    assert.deepEqual(await db.collection("users").find().sort({ _id: 1 }).toArray(), users);
    const keys = await db.collection("wrappedkeys").find().sort({ _id: 1 }).toArray();
    assert.deepEqual(
      keys.map((k) => Buffer.from((k.wrapped as Binary).buffer).toString("hex")),
      wrappedKeys.map((k) => Buffer.from(k.wrapped.buffer).toString("hex")),
    );
  });

  test("restore without a terminal or --yes replaces nothing", async () => {
    const file = join(dir, "again.archive.gz");
    await run(join(ROOT, "scripts", "backup"), [file], { env });
    await db.collection<Doc>("users").insertOne({ _id: "u-carol", email: "carol@example.org", displayName: "Carol" });
    await assert.rejects(run(join(ROOT, "scripts", "restore"), [file], { env }), /Nothing restored/);
    assert.equal(await db.collection("users").countDocuments(), 3);
  });
});
