/**
 * Replies and reactions through the chat protocol, between two instances: what is stored, what
 * each side sees live and in history, what is refused, and that no emoji or quoted text lies in
 * MongoDB or Redis in the clear.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { instances } from "../test/factories.js";
import { chatSuite, twoInARoom } from "../test/chat-suite.js";
import type { ChatClient } from "../test/chat-client.js";
import { eventually, stack } from "../test/support.js";
import type { TestBrowser } from "../test/browser.js";
import { instanceChannel } from "./hub.js";
import { MAX_REACTIONS_PER_MESSAGE, REACTIONS, type PlainMessage, type Reaction } from "./protocol.js";

const [instanceA = "", instanceB = ""] = instances;

const db = () => {
  const found = mongoose.connection.db;
  if (!found) throw new Error("MongoDB is not connected");
  return found;
};

/** How many reactions message `seq` carries in MongoDB. */
async function storedReactions(roomId: string, seq: number): Promise<number> {
  const doc = await db().collection("messages").findOne({ roomId, seq });
  return (doc?.reactions as unknown[] | undefined)?.length ?? 0;
}

async function history(browser: TestBrowser, roomId: string): Promise<PlainMessage[]> {
  const page = await browser.get(`/api/rooms/${roomId}/messages?limit=50`, { Accept: "application/json" });
  assert.equal(page.status, 200);
  return (JSON.parse(page.html) as { messages: PlainMessage[] }).messages;
}

describe("replies and reactions between Alice and Bob on two instances", () => {
  const suite = chatSuite();

  /** Alice on instance A and Bob on instance B, in one room, both live. */
  async function room() {
    const { alice, bob, roomId } = await twoInARoom("react", [instanceA, instanceB]);
    const aliceTab = await suite.connect(alice.browser, roomId, instanceA);
    const bobTab = await suite.connect(bob.browser, roomId, instanceB);
    const say = async (tab: ChatClient, clientId: string, text: string, replyTo?: number) => {
      tab.send({ type: "send", clientId, text, ...(replyTo ? { replyTo } : {}) });
      return (await tab.next("ack", (f) => f.clientId === clientId)).seq;
    };
    return { alice, bob, roomId, aliceTab, bobTab, aliceId: alice.id, bobId: bob.id, say };
  }

  it("a reply stores the number it answers and reaches the other side with a quote of the original", async () => {
    const { alice, bob, roomId, aliceTab, bobTab, aliceId, bobId, say } = await room();
    const original = await say(aliceTab, "q1", "Shall we meet at the   lighthouse\nat nine?");
    const reply = await say(bobTab, "r1", "Yes, see you there", original);

    const live = await aliceTab.next("message", (f) => f.seq === reply);
    assert.deepEqual(live.replyTo, { seq: original, from: aliceId, excerpt: "Shall we meet at the lighthouse at nine?" });
    const stored = await db().collection("messages").findOne({ roomId, seq: reply });
    assert.equal(stored?.replyTo, original, "the reply keeps the original's number");
    assert.ok(!JSON.stringify(stored).includes("lighthouse"), "and no copy of its text");

    for (const browser of [alice.browser, bob.browser]) {
      const shown = (await history(browser, roomId)).find((m) => m.seq === reply);
      assert.deepEqual(shown?.replyTo, { seq: original, from: aliceId, excerpt: "Shall we meet at the lighthouse at nine?" });
    }

    // Quoting a long message shows its start; deleting the original shows in every quote of it.
    const long = await say(aliceTab, "q2", "word ".repeat(100));
    const second = await say(bobTab, "r2", "that is long", long);
    assert.ok((await aliceTab.next("message", (f) => f.seq === second)).replyTo?.excerpt?.endsWith("…"));
    aliceTab.send({ type: "delete", seq: original });
    await bobTab.next("deleted", (f) => f.seq === original);
    const after = (await history(bob.browser, roomId)).find((m) => m.seq === reply);
    assert.deepEqual(after?.replyTo, { seq: original, from: aliceId, deleted: true });
    assert.equal(bobId === aliceId, false);
  });

  it("a reply to a number the room does not have is refused with a clear error, and nothing is stored", async () => {
    const { roomId, aliceTab, bobTab, say } = await room();
    const first = await say(aliceTab, "x1", "only message");
    for (const [clientId, replyTo] of [
      ["bad1", 999],
      ["bad2", first + 1],
    ] as const) {
      aliceTab.send({ type: "send", clientId, text: "answering nothing", replyTo });
      const error = await aliceTab.next("error", (f) => f.clientId === clientId);
      assert.equal(error.code, "not_found");
      assert.match(error.message, new RegExp(`message ${replyTo} is not in this conversation`));
      assert.equal(error.retryAfterMs, undefined, "not worth retrying");
    }
    // A deleted message cannot be answered either.
    aliceTab.send({ type: "delete", seq: first });
    await bobTab.next("deleted", (f) => f.seq === first);
    bobTab.send({ type: "send", clientId: "bad3", text: "too late", replyTo: first });
    assert.equal((await bobTab.next("error", (f) => f.clientId === "bad3")).code, "not_found");
    assert.equal(
      await db()
        .collection("messages")
        .countDocuments({ roomId, kind: { $ne: "void" } }),
      1,
    );
    // The socket still works, in order.
    assert.equal(await say(aliceTab, "x2", "still here"), first + 1);
  });

  it("a reaction counts once however often it is said, goes live to the other instance, and can be taken back", async () => {
    const { alice, bob, roomId, aliceTab, bobTab, aliceId, bobId, say } = await room();
    const seq = await say(aliceTab, "m1", "Dinner is ready");
    for (let i = 0; i < 3; i++) bobTab.send({ type: "react", seq, emoji: "👍", on: true });
    bobTab.send({ type: "react", seq, emoji: "❤️", on: true });
    aliceTab.send({ type: "react", seq, emoji: "👍", on: true });
    const seen = await aliceTab.next("reaction", (f) => f.emoji === "❤️");
    assert.deepEqual(seen, { type: "reaction", seq, from: bobId, emoji: "❤️", on: true });
    await bobTab.next("reaction", (f) => f.from === aliceId);

    assert.equal(await storedReactions(roomId, seq), 3);
    for (const browser of [alice.browser, bob.browser]) {
      const shown = (await history(browser, roomId)).find((m) => m.seq === seq);
      const counts = Object.fromEntries((shown?.reactions ?? []).map((r) => [r.emoji, [...r.by].sort()]));
      assert.deepEqual(counts, { "❤️": [bobId], "👍": [aliceId, bobId].sort() });
    }
    // A socket opened later gets them with the message (catch-up).
    const late = await suite.connect(alice.browser, roomId, instanceB);
    const caught = await late.next("message", (f) => f.seq === seq);
    assert.equal(caught.reactions?.find((r) => r.emoji === "👍")?.by.length, 2);

    bobTab.send({ type: "react", seq, emoji: "👍", on: false });
    bobTab.send({ type: "react", seq, emoji: "👍", on: false });
    await aliceTab.next("reaction", (f) => f.emoji === "👍" && !f.on);
    await eventually("taken back", async () => (await storedReactions(roomId, seq)) === 2);
    const shown = (await history(bob.browser, roomId)).find((m) => m.seq === seq);
    assert.deepEqual(shown?.reactions?.find((r) => r.emoji === "👍")?.by, [aliceId]);
  });

  it("reactions go with their message, and are refused on a message that is gone, past the cap, or not Duet's emoji", async () => {
    const { bob, roomId, aliceTab, bobTab, say } = await room();
    const seq = await say(aliceTab, "m1", "react to me");
    bobTab.send({ type: "react", seq, emoji: "🎉", on: true });
    await aliceTab.next("reaction", (f) => f.seq === seq);
    aliceTab.send({ type: "delete", seq });
    await bobTab.next("deleted", (f) => f.seq === seq);
    assert.equal(await storedReactions(roomId, seq), 0, "removed with the message");
    assert.equal((await history(bob.browser, roomId)).find((m) => m.seq === seq)?.reactions, undefined);

    bobTab.send({ type: "react", seq, emoji: "🎉", on: true });
    assert.match((await bobTab.next("error", (f) => f.code === "not_found")).message, /not in this conversation/);
    bobTab.send({ type: "react", seq: 999, emoji: "🎉", on: true });
    await eventually("two refusals", async () => bobTab.frames.filter((f) => f.type === "error").length === 2);

    bobTab.send({ type: "react", seq, emoji: "<script>", on: true });
    assert.match(
      (await bobTab.next("error", (f) => f.code === "bad_frame")).message,
      /emoji: not one of the reactions Duet offers/,
    );

    const next = await say(aliceTab, "m2", "lots of feelings");
    const emoji = Object.keys(REACTIONS) as Reaction[];
    for (const e of emoji.slice(0, MAX_REACTIONS_PER_MESSAGE)) bobTab.send({ type: "react", seq: next, emoji: e, on: true });
    await eventually(
      `the cap reached ${JSON.stringify(bobTab.frames.filter((f) => f.type === "error").slice(-3))}`,
      async () => aliceTab.frames.filter((f) => f.type === "reaction" && f.seq === next).length === MAX_REACTIONS_PER_MESSAGE,
      // Twenty durable writes one after another: seconds on FerretDB under load.
      60_000,
    );
    aliceTab.send({ type: "react", seq: next, emoji: emoji[MAX_REACTIONS_PER_MESSAGE] ?? "👍", on: true });
    assert.match((await aliceTab.next("error", (f) => f.code === "too_many")).message, /at most 20 reactions/);
    // Saying one that is already there again is still fine at the cap.
    bobTab.send({ type: "react", seq: next, emoji: emoji[0] ?? "👍", on: true });
    await aliceTab.next(
      "reaction",
      (f) =>
        f.seq === next &&
        aliceTab.frames.filter((g) => g.type === "reaction" && g.seq === next).length > MAX_REACTIONS_PER_MESSAGE,
    );
    assert.equal(await storedReactions(roomId, next), MAX_REACTIONS_PER_MESSAGE);
  });

  it("a reaction that cannot take its message's lock is refused, not written without it", async () => {
    const { roomId, aliceTab, bobTab, say } = await room();
    const seq = await say(aliceTab, "busy-1", "Who is in?");
    // As another change that holds the message's lock for longer than a reaction waits would.
    const admin = new Redis(stack.REDIS_ADMIN_URL);
    const lock = `duet:reaction-lock:${roomId}:${seq}`;
    await admin.set(lock, "someone-else", "PX", 30_000);
    try {
      bobTab.send({ type: "react", seq, emoji: "👍", on: true });
      const refused = await bobTab.next("error", (f) => f.code === "unavailable");
      assert.match(refused.message, /try again/i);
      assert.equal(await storedReactions(roomId, seq), 0, "nothing written without the lock");
    } finally {
      await admin.del(lock);
      admin.disconnect();
    }
    // Once the lock is free, the same reaction goes through.
    bobTab.send({ type: "react", seq, emoji: "👍", on: true });
    await aliceTab.next("reaction", (f) => f.seq === seq && f.emoji === "👍");
    assert.equal(await storedReactions(roomId, seq), 1);
  });

  it("no emoji and no quoted text reach MongoDB or Redis in the clear", async () => {
    const { roomId, aliceTab, bobTab, say } = await room();
    const spy = new Redis(stack.REDIS_ADMIN_URL);
    const traffic: string[] = [];
    // Every instance's channel: what the hub sends anywhere (hub.ts).
    await spy.psubscribe(instanceChannel("*"));
    spy.on("pmessage", (_pattern: string, _channel: string, raw: string) => traffic.push(raw));
    const secret = "the-spare-key-is-under-the-blue-pot";
    const original = await say(aliceTab, "s1", secret);
    await say(bobTab, "s2", "got it", original);
    bobTab.send({ type: "react", seq: original, emoji: "🔥", on: true });
    await aliceTab.next("reaction", (f) => f.emoji === "🔥");
    await eventually("published", async () => traffic.some((t) => t.includes('"type":"reaction"')));
    spy.disconnect();

    const forms = [
      "🔥",
      JSON.stringify("🔥").slice(1, -1),
      "\\ud83d\\udd25",
      Buffer.from("🔥").toString("base64").replace(/=+$/, ""),
    ];
    const seen = [traffic.join("\n"), JSON.stringify(await db().collection("messages").find({ roomId }).toArray())];
    const reacted = await db().collection("messages").findOne({ roomId, seq: original });
    assert.equal(reacted?.reactions?.length, 1);
    const raw = Buffer.concat(
      (reacted?.reactions as Array<{ ct: { buffer: Uint8Array } }>).map((r) => Buffer.from(r.ct.buffer)),
    ).toString("utf8");
    for (const where of [...seen, raw]) {
      for (const form of forms) assert.ok(!where.includes(form), `found ${form}`);
      assert.ok(!where.includes(secret), "no quoted text");
    }
  });
});
