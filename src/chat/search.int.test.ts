import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { Redis } from "ioredis";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mongoose from "mongoose";
import { stackSettings } from "../../scripts/lib/settings.js";
import { roomKeyCache } from "./rooms.js";
import { parseMasterKeys } from "../master-keys.js";
import type { TestBrowser } from "../test/browser.js";
import { instances, signedUpUser, startConversation } from "../test/factories.js";
import { connectServices, messageStore, stack, type Services } from "../test/support.js";

const [instanceA = "", instanceB = ""] = instances;
type Hit = { seq: number; from: string; text: string };
type Answer = { results: Hit[]; next: number | null; scanned: number };

const search = (browser: TestBrowser, roomId: string, form: Record<string, string>) =>
  browser.post(`/api/rooms/${roomId}/search`, form, { Accept: "application/json" });
const answer = (page: { html: string }) => JSON.parse(page.html) as Answer;

/** Whatever the page's data attributes say: who I am and who the other member is. */
async function members(browser: TestBrowser, roomId: string) {
  const html = (await browser.get(`/chat/${roomId}`)).html;
  return { me: /data-me="([^"]+)"/.exec(html)?.[1] ?? "", peer: /data-peer="([^"]+)"/.exec(html)?.[1] ?? "" };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

describe("searching a conversation", () => {
  let services: Services;
  let alice: Awaited<ReturnType<typeof signedUpUser>>;
  let bob: Awaited<ReturnType<typeof signedUpUser>>;
  let roomId = "";
  const COUNT = 1_100;
  /** The numbers whose text holds "Lantern" in some case. */
  const lanterns = new Set<number>();

  before(async () => {
    services = await connectServices();
    [alice, bob] = await Promise.all([signedUpUser("searcher", instanceA), signedUpUser("searched", instanceB)]);
    roomId = await startConversation(alice.browser, bob.email);
    const { me, peer } = await members(alice.browser, roomId);
    const store = messageStore(services.redis, roomKeyCache(parseMasterKeys(stack.MASTER_KEYS)).keyFor);
    const texts = Array.from({ length: COUNT }, (_, i) =>
      i % 97 === 5 ? `the ${["lantern", "LANTERN", "Lantern"][i % 3]} is lit (${i})` : `plain message ${i} <b>not bold</b>`,
    );
    for (let i = 0; i < COUNT; i += 200)
      await Promise.all(
        texts
          .slice(i, i + 200)
          .map((text, j) => store.store({ roomId, senderId: (i + j) % 2 ? me : peer, clientId: randomUUID(), text })),
      );
    await store.drain();
    const stored = await mongoose.connection
      .collection("messages")
      .find({ roomId }, { projection: { seq: 1 } })
      .toArray();
    assert.equal(stored.length, COUNT);
    // Which numbers the lanterns got (the store numbers them in its own order): read them back.
    for (let after = 0; ;) {
      const { messages, hasMore } = JSON.parse(
        (await alice.browser.get(`/api/rooms/${roomId}/messages?limit=100&after=${after}`)).html,
      ) as {
        messages: Array<{ seq: number; text: string }>;
        hasMore: boolean;
      };
      for (const m of messages) if (/lantern/i.test(m.text)) lanterns.add(m.seq);
      after = messages.at(-1)?.seq ?? after;
      if (!hasMore) break;
    }
    assert.ok(lanterns.size >= 10);
  });
  after(() => services.close());

  it("finds text in any case, newest first, a bounded window per request, paged by cursor to the first message", async () => {
    await bob.browser.get(`/chat/${roomId}`);
    const found: number[] = [];
    let cursor: number | null | undefined;
    let pages = 0;
    do {
      const res = await search(bob.browser, roomId, { q: "  lAnTeRn ", ...(cursor ? { before: String(cursor) } : {}) });
      assert.equal(res.status, 200, res.html);
      assert.match(res.headers.get("cache-control") ?? "", /no-store/);
      const page = answer(res);
      assert.ok(page.scanned <= 500, `one request opened ${page.scanned} messages`);
      for (const hit of page.results) assert.match(hit.text, /^the lantern is lit \(\d+\)$/i);
      found.push(...page.results.map((r) => r.seq));
      cursor = page.next;
      pages++;
    } while (cursor !== null);
    assert.equal(pages, 3, "1,100 messages take three windows of 500");
    assert.deepEqual(
      found,
      [...lanterns].sort((a, b) => b - a),
      "every match once, newest first",
    );
    // Markup in a message is its text: it comes back as sent, for the page to show as text.
    const tagged = answer(await search(bob.browser, roomId, { q: "<b>not" }));
    assert.equal(tagged.results[0]?.text.includes("<b>not bold</b>"), true);
  });

  it("is for the room's members only: anyone else gets the same 404 as for a room that does not exist", async () => {
    const carol = await signedUpUser("search-outsider", instanceB);
    await carol.browser.get("/chat");
    for (const room of [roomId, "AAAAAAAAAAAAAAAAAAAAAA"]) {
      const res = await search(carol.browser, room, { q: "lantern" });
      assert.equal(res.status, 404);
      assert.doesNotMatch(res.html, /lantern/i);
    }
    const signedOut = await search((await import("../test/browser.js")).openBrowser(instanceA), roomId, { q: "lantern" });
    assert.notEqual(signedOut.status, 200);
  });

  it("refuses a query that is empty, too long or not text, and a cursor that is not a number, without echoing it", async () => {
    await alice.browser.get(`/chat/${roomId}`);
    const bad: Array<Record<string, string>> = [
      {},
      { q: "   " },
      { q: "x".repeat(101) },
      { "q[]": "lantern" },
      { q: "lantern", before: "-3" },
      { q: "lantern", before: "ten" },
    ];
    for (const form of bad) {
      const res = await search(alice.browser, roomId, form);
      assert.equal(res.status, 400, JSON.stringify(form));
      const { error } = JSON.parse(res.html) as { error: { code: string; message: string } };
      assert.equal(error.code, "bad_search");
      assert.equal(error.message, 'Search for 1 to 100 characters; "before" is a message number.');
    }
  });

  it("leaves no trace of the query in nginx or app logs, Redis or MongoDB", async () => {
    const marker = `zqmark${randomBytes(6).toString("hex")}`;
    // Through nginx, as a browser searches: its access log sees the request too.
    alice.browser.useInstance(stack.APP_URL);
    await alice.browser.get(`/chat/${roomId}`);
    const res = await search(alice.browser, roomId, { q: marker });
    alice.browser.useInstance(instanceA);
    assert.equal(res.status, 200);
    assert.deepEqual(answer(res).results, []);

    // Every file of the stack (nginx and app logs, Redis's AOF, FerretDB's files), every key in
    // Redis and every document in MongoDB.
    const holders: string[] = [];
    const look = (where: string, bytes: Buffer | string) => {
      if ((typeof bytes === "string" ? bytes : bytes.toString("latin1")).includes(marker)) holders.push(where);
    };
    for (const file of filesUnder(stackSettings().dir))
      if (statSync(file).size < 512 * 1024 * 1024) look(file, readFileSync(file));
    const admin = new Redis(stack.REDIS_ADMIN_URL);
    try {
      for (const key of await admin.keys("*")) {
        look(`Redis key ${key}`, key);
        look(`Redis ${key}`, (await admin.dumpBuffer(key)) ?? "");
      }
    } finally {
      admin.disconnect();
    }
    const db = mongoose.connection.db;
    for (const { name } of (await db?.listCollections({}, { nameOnly: true }).toArray()) ?? [])
      for await (const doc of db?.collection(name).find() ?? [])
        look(`MongoDB ${name}`, Buffer.from(mongoose.mongo.BSON.serialize(doc)));
    assert.deepEqual(holders, []);
  });

  it("is limited to 30 searches a minute per user, across instances, with a clear message", async () => {
    const dave = await signedUpUser("search-limit", instanceA);
    const room = await startConversation(dave.browser, alice.email);
    for (let i = 0; i < 30; i++) {
      dave.browser.useInstance(i % 2 ? instanceB : instanceA);
      assert.equal((await search(dave.browser, room, { q: `try ${i}` })).status, 200, `search ${i + 1}`);
    }
    const limited = await search(dave.browser, room, { q: "one more" });
    assert.equal(limited.status, 429);
    assert.match(JSON.parse(limited.html).error.message, /Too many attempts\. Try again in a minute\./);
    // Someone else still searches.
    assert.equal((await search(alice.browser, roomId, { q: "lantern" })).status, 200);
  });
});
