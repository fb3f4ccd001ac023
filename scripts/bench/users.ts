/**
 * Bench users, made as a person makes them: the sign-up pages, the code from the mail catcher's
 * inbox (MailDev's HTTP API), then "start a conversation" with the other member's address. Only
 * HTTP, on the app instances directly (as nginx would call them: X-Forwarded-Proto https and an
 * address per user, so per-address limits never spill over). Each sign-up costs two argon2id
 * hashes, so the pairs are kept in <bench dir>/users.json and reused while their sessions live,
 * with the highest number each room's sockets have seen (a reconnect then needs no catch-up).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { codeIn, inboxMark, waitForEmail } from "../lib/mailbox.js";
import { openBrowser } from "../../src/test/browser.js";
import type { StackEnv } from "../lib/stack-env.js";

export type BenchUser = { email: string; cookie: string };
export type BenchPair = { alice: BenchUser; bob: BenchUser; roomId: string; seq: number };

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

const sessionCookie = (browser: ReturnType<typeof openBrowser>) =>
  ["__Host-duet.sid", "__Host-duet.sid.sig"].map((n) => `${n}=${browser.cookie(n) ?? ""}`).join("; ");

/** Signs a new user up through the pages and the emailed code; answers the signed-in browser. */
async function signUp(stack: StackEnv, base: string, email: string, name: string) {
  const browser = openBrowser(base);
  await browser.get("/signup");
  const sent = await inboxMark(stack.MAIL_URL, email);
  const res = await browser.post("/signup", { email, displayName: name, password: PASSWORD });
  if (res.location !== "/signup/verify") throw new Error(`sign-up of ${email} failed: ${res.status} ${res.text.slice(0, 200)}`);
  await browser.get("/signup/verify");
  const mail = await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent, timeoutMs: 60_000 });
  await fetch(`${stack.MAIL_URL}/email/${mail.id}`, { method: "DELETE" }).then((r) => r.arrayBuffer());
  const verified = await browser.post("/signup/verify", { code: codeIn(mail) });
  if (verified.location !== "/chat?welcome=1") throw new Error(`verification of ${email} failed: ${verified.status}`);
  return browser;
}

async function stillSignedIn(base: string, user: BenchUser): Promise<boolean> {
  const res = await fetch(`${base}/profile`, {
    redirect: "manual",
    headers: { Cookie: user.cookie, "X-Forwarded-Proto": "https", Accept: "text/html" },
  });
  await res.arrayBuffer();
  return res.status === 200;
}

/** `count` pairs with live sessions and a room each: reused from the cache file, topped up with new ones. */
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
  // A stack started afresh has none of these users: their sessions answer "signed out".
  const alive = probes.length > 0 && (await Promise.all(probes.map((p) => stillSignedIn(base, p.alice)))).every(Boolean);
  if (!alive) pairs = [];
  if (pairs.length >= count) {
    log(`users: reusing ${count} of ${pairs.length} cached pairs (${cacheFile})`);
    return pairs.slice(0, count);
  }

  const missing = count - pairs.length;
  log(`users: signing up ${missing * 2} users through the pages and the mail catcher, ${missing} conversations`);
  const started = Date.now();
  const tag = randomBytes(4).toString("hex");
  const fresh = await inParallel(
    Array.from({ length: missing }, (_, i) => i),
    4,
    async (i) => {
      const [aliceEmail, bobEmail] = [`bench-${tag}-${i}-a@example.test`, `bench-${tag}-${i}-b@example.test`];
      // Sign-ups alternate between the two instances; each spends argon2id work.
      const alice = await signUp(stack, instances[i % instances.length] ?? base, aliceEmail, `Bench Alice ${i}`);
      const bob = await signUp(stack, instances[(i + 1) % instances.length] ?? base, bobEmail, `Bench Bob ${i}`);
      await alice.get("/chat");
      const started = await alice.post("/chat/start", { email: bobEmail });
      const roomId = started.location?.replace("/chat/", "") ?? "";
      if (!/^[A-Za-z0-9_-]{22}$/.test(roomId)) throw new Error(`no conversation for ${aliceEmail}: ${started.status}`);
      return {
        alice: { email: aliceEmail, cookie: sessionCookie(alice) },
        bob: { email: bobEmail, cookie: sessionCookie(bob) },
        roomId,
        seq: 0,
      };
    },
  );
  pairs = [...pairs, ...fresh];
  saveBenchPairs(cacheFile, pairs);
  log(`users: ${missing * 2} users and ${missing} rooms ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return pairs;
}

/** Keeps the pairs, with the numbers their rooms reached, for the next run. */
export function saveBenchPairs(cacheFile: string, pairs: readonly BenchPair[]): void {
  const all = existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, "utf8")) as BenchPair[]) : [];
  const seqs = new Map(pairs.map((p) => [p.roomId, p.seq]));
  const merged = [...pairs, ...all.filter((p) => !seqs.has(p.roomId))];
  mkdirSync(dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, JSON.stringify(merged), { mode: 0o600 });
}
