/**
 * Bench users. Signing up through the pages and emailed codes takes seconds per user, so the
 * accounts (verified, with a real argon2id hash) and their rooms are made directly in MongoDB
 * with the app's own models and `roomBetween` (under the stack's master key); each session comes
 * from a real sign-in, POST /signin with a cookie jar. The pairs are kept in
 * <STACK_DIR>/bench/users.json and reused while their sessions are alive (sign-in costs one
 * argon2 verification each).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import mongoose from "mongoose";
import { hashPassword } from "../../src/accounts/passwords.js";
import { UserModel } from "../../src/accounts/user.model.js";
import { parseMasterKeys } from "../../src/chat/cipher.js";
import { MessageModel } from "../../src/chat/message.model.js";
import { RoomModel } from "../../src/chat/room.model.js";
import { roomBetween } from "../../src/chat/rooms.js";
import { openBrowser } from "../../src/test/browser.js";
import type { StackEnv } from "../lib/stack-env.js";

export type BenchUser = { id: string; email: string; cookie: string };
export type BenchPair = { alice: BenchUser; bob: BenchUser; roomId: string };

const PASSWORD = "bench lantern orchard velvet";

/** Runs `task` over `items`, at most `concurrency` at a time. */
export async function inParallel<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>) {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

async function signIn(base: string, email: string): Promise<string> {
  const browser = openBrowser(base);
  await browser.get("/signin");
  const res = await browser.post("/signin", { email, password: PASSWORD });
  const sid = browser.cookie("__Host-duet.sid");
  if (res.status !== 302 || !sid) throw new Error(`sign-in of ${email} failed: ${res.status} ${res.text.slice(0, 200)}`);
  return `__Host-duet.sid=${sid}; __Host-duet.sid.sig=${browser.cookie("__Host-duet.sid.sig") ?? ""}`;
}

async function stillSignedIn(base: string, user: BenchUser): Promise<boolean> {
  const res = await fetch(`${base}/profile`, {
    redirect: "manual",
    headers: { Cookie: user.cookie, "X-Forwarded-Proto": "https", Accept: "text/html" },
  });
  await res.arrayBuffer();
  return res.status === 200;
}

/** `count` pairs with live sessions: reused from the cache file, topped up with new ones. */
export async function benchPairs(
  stack: StackEnv,
  cacheFile: string,
  count: number,
  log: (line: string) => void,
): Promise<BenchPair[]> {
  const instances = stack.APP_INSTANCES.split(",");
  const base = instances[0] ?? "";
  let pairs: BenchPair[] = existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, "utf8")) as BenchPair[]) : [];
  const probes = [pairs[0], pairs.at(-1)].filter((p): p is BenchPair => p !== undefined);
  const alive =
    probes.length > 0 &&
    (await RoomModel.countDocuments({ _id: { $in: probes.map((p) => p.roomId) } })) === probes.length &&
    (await Promise.all(probes.map((p) => stillSignedIn(base, p.alice)))).every(Boolean);
  if (!alive) pairs = [];
  if (pairs.length >= count) {
    log(`users: reusing ${count} of ${pairs.length} cached pairs (${cacheFile})`);
    return pairs.slice(0, count);
  }

  const missing = count - pairs.length;
  log(`users: creating ${missing} pairs in MongoDB and signing ${missing * 2} users in (POST /signin)`);
  const started = Date.now();
  const tag = randomBytes(4).toString("hex");
  const passwordHash = await hashPassword(PASSWORD);
  const docs = Array.from({ length: missing * 2 }, (_, i) => ({
    _id: new mongoose.Types.ObjectId(),
    email: `bench-${tag}-${i}@example.com`,
    emailVerified: true,
    displayName: `Bench ${i % 2 === 0 ? "Alice" : "Bob"} ${i >> 1}`,
    passwordHash,
  }));
  for (let i = 0; i < docs.length; i += 500) await UserModel.insertMany(docs.slice(i, i + 500));
  const [master] = parseMasterKeys(stack.MASTER_KEYS);
  if (!master) throw new Error("the stack has no MASTER_KEYS");
  // Sign-ins alternate between the two instances; each spends one argon2 verification.
  const cookies = await inParallel(docs, 4, (doc, i) => signIn(instances[i % instances.length] ?? base, doc.email));
  const fresh = await inParallel(
    Array.from({ length: missing }, (_, i) => i),
    8,
    async (i) => {
      const [a, b] = [docs[2 * i], docs[2 * i + 1]];
      if (!a || !b) throw new Error("user list out of step");
      const roomId = await roomBetween(master, String(a._id), String(b._id));
      const user = (doc: typeof a, j: number): BenchUser => ({ id: String(doc._id), email: doc.email, cookie: cookies[j] ?? "" });
      return { alice: user(a, 2 * i), bob: user(b, 2 * i + 1), roomId };
    },
  );
  pairs = [...pairs, ...fresh];
  mkdirSync(dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, JSON.stringify(pairs), { mode: 0o600 });
  log(`users: ${missing * 2} users and ${missing} rooms ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return pairs;
}

/**
 * Deletes what earlier steps and runs stored in the bench's rooms. FerretDB's SQLite backend
 * pushes no filter down on `messages` (explain: filterPushdown false, SCAN), so every catch-up
 * query at connect reads the whole collection: left to grow, it makes each connect slower.
 */
export const pruneBenchMessages = (pairs: readonly BenchPair[]) => pruneRoomMessages(pairs.map((p) => p.roomId));

/** Deletes every message of these rooms; answers how many. */
export async function pruneRoomMessages(roomIds: readonly string[]): Promise<number> {
  // In slices: FerretDB deletes a command's matches in one SQL statement, one variable each, and
  // SQLite refuses more than 32,766 of them ("too many SQL variables").
  const filter = { roomId: { $in: roomIds } };
  let deleted = 0;
  for (;;) {
    const ids = (await MessageModel.find(filter, { _id: 1 }).limit(10_000).lean()).map((m) => m._id);
    if (ids.length === 0) return deleted;
    deleted += (await MessageModel.deleteMany({ _id: { $in: ids } })).deletedCount;
  }
}
