/**
 * Delivery when things die at the worst moment: every stored message reaches the other member
 * exactly once and in number order. Deaths between the database write and the publish are
 * staged with the real message store writing without publishing (what an instance killed right
 * after its commit leaves behind), and a number reserved and never written with the real
 * sequencer (an instance killed before its write).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import mongoose from "mongoose";
import { startOne, stopOne } from "../../scripts/lib/stack.js";
import { stackSettings } from "../../scripts/lib/settings.js";
import { openChat, type ChatClient } from "../test/chat-client.js";
import { instances, signedUpUser } from "../test/factories.js";
import { connectServices, eventually, messageStore, stack, type Services } from "../test/support.js";
import type { TestBrowser } from "../test/browser.js";
import { parseMasterKeys } from "./cipher.js";
import { applyRoomAction } from "./blocks.js";
import { roomKeyCache } from "./rooms.js";
import { createSequencer } from "./sequencer.js";
import { SEND_LIMIT } from "./limits.js";

const [instanceA = "", instanceB = ""] = instances;

const seqsOf = (client: ChatClient) => client.frames.flatMap((f) => (f.type === "message" ? [f.seq] : []));

describe("every stored message reaches the other member once, in order, whatever died when", () => {
  let services: Services;
  const open: ChatClient[] = [];
  const keys = roomKeyCache(parseMasterKeys(stack.MASTER_KEYS));
  const connect = async (browser: TestBrowser, roomId: string, base: string) => {
    const client = await openChat(browser, roomId, { base });
    open.push(client);
    await client.next("ready");
    return client;
  };
  async function room() {
    const alice = await signedUpUser("deliver-a", instanceA);
    const bob = await signedUpUser("deliver-b", instanceB);
    await alice.browser.get("/chat");
    const roomId = (await alice.browser.post("/chat/start", { email: bob.email })).location?.replace("/chat/", "") ?? "";
    const aliceId = String((await mongoose.connection.db?.collection("users").findOne({ email: alice.email }))?._id);
    return { alice, bob, roomId, aliceId };
  }
  before(async () => (services = await connectServices()));
  after(async () => {
    for (const client of open) client.ws.terminate();
    await services.close();
  });

  it("a message stored by an instance that died before publishing it arrives when the sender retries", async () => {
    const { alice, bob, roomId, aliceId } = await room();
    const bobTab = await connect(bob.browser, roomId, instanceA);
    // The first attempt: stored, then the instance died (no publish, no ack).
    await messageStore(services.redis, keys.keyFor).store({ roomId, senderId: aliceId, clientId: "c1", text: "first" });
    // The browser retries the unacknowledged send on the other instance.
    const aliceTab = await connect(alice.browser, roomId, instanceB);
    aliceTab.send({ type: "send", clientId: "c1", text: "first" });
    assert.equal((await aliceTab.next("ack", (f) => f.clientId === "c1")).seq, 1);
    assert.equal((await bobTab.next("message", (f) => f.seq === 1)).text, "first");
    aliceTab.send({ type: "send", clientId: "c2", text: "second" });
    const second = await aliceTab.next("ack", (f) => f.clientId === "c2");
    await bobTab.next("message", (f) => f.clientId === "c2");
    assert.deepEqual(seqsOf(bobTab), [1, second.seq]);
  });

  it("a socket that connects on the other instance just as a message goes out gets it, with nothing sent after it", async () => {
    const { alice, bob, roomId } = await room();
    const aliceTab = await connect(alice.browser, roomId, instanceA);
    const missed: number[] = [];
    for (let round = 1; round <= 12; round++) {
      // The send and the connect race: either the new socket's instance is in the room when the
      // message is published (live), or the message was stored before the socket caught up.
      const opening = openChat(bob.browser, roomId, { base: instanceB, after: round - 1 });
      aliceTab.send({ type: "send", clientId: `race-${round}`, text: `race ${round}` });
      const bobTab = await opening;
      open.push(bobTab);
      const got = await bobTab.next("message", (f) => f.seq === round, 5_000).catch(() => undefined);
      if (!got) missed.push(round);
      await aliceTab.next("ack", (f) => f.clientId === `race-${round}`);
      bobTab.ws.close();
    }
    assert.deepEqual(missed, [], "every round's message reached the socket that connected as it went out");
  });

  it("a stored message nobody published is filled in before a later one", async () => {
    const { alice, bob, roomId, aliceId } = await room();
    const bobTab = await connect(bob.browser, roomId, instanceA);
    await messageStore(services.redis, keys.keyFor).store({ roomId, senderId: aliceId, clientId: "lost", text: "unannounced" });
    const aliceTab = await connect(alice.browser, roomId, instanceB);
    aliceTab.send({ type: "send", clientId: "later", text: "later" });
    await bobTab.next("message", (f) => f.seq === 2);
    assert.deepEqual(seqsOf(bobTab), [1, 2], "the earlier number first, then the later one");
    assert.equal(bobTab.frames.find((f) => f.type === "message" && f.seq === 1)?.type, "message");
  });

  it("a number whose write never came is settled: later messages flow, and a late write of it is refused", async () => {
    const { alice, bob, roomId, aliceId } = await room();
    const bobTab = await connect(bob.browser, roomId, instanceA);
    // An instance reserved number 1 and died before writing it.
    const [first] = await createSequencer(services.redis).reserve([{ roomId, senderId: aliceId }]);
    assert.deepEqual(first, { seq: 1 });
    const aliceTab = await connect(alice.browser, roomId, instanceB);
    aliceTab.send({ type: "send", clientId: "after-gap", text: "after the gap" });
    assert.equal((await aliceTab.next("ack", (f) => f.clientId === "after-gap")).seq, 2);
    await bobTab.next("message", (f) => f.seq === 2);
    assert.deepEqual(seqsOf(bobTab), [2]);
    // The dead instance's write, had it come back, can no longer take number 1.
    const messages = mongoose.connection.db?.collection("messages");
    assert.ok(messages);
    await assert.rejects(
      messages.insertOne({ _id: `${roomId}:late:x` as never, roomId, seq: 1, kind: "text" }),
      (err: Error & { code?: number }) => err.code === 11000,
    );
    const page = JSON.parse((await bob.browser.get(`/api/rooms/${roomId}/messages`)).html) as {
      messages: Array<{ seq: number }>;
    };
    assert.deepEqual(
      page.messages.map((m) => m.seq),
      [2],
      "the settled number shows nowhere",
    );
  });

  it("after Redis is killed and restarted mid-conversation, the other member gets every message in order", async () => {
    const settings = stackSettings();
    const { alice, bob, roomId } = await room();
    const aliceTab = await connect(alice.browser, roomId, instanceA);
    const bobTab = await connect(bob.browser, roomId, instanceB);
    const acked = () => aliceTab.frames.filter((f) => f.type === "ack").length;
    const answered = () => aliceTab.frames.filter((f) => f.type === "ack" || f.type === "error").length;
    // A steady conversation, under the send limit (50 per 10 s).
    let sent = 0;
    const talk = setInterval(() => {
      sent++;
      aliceTab.send({ type: "send", clientId: `t${sent}`, text: `steady ${sent}` });
    }, 250);
    let redisDown = false;
    try {
      await eventually("talking", async () => acked() >= 5);
      await stopOne(settings, "redis", { graceMs: 0 });
      redisDown = true;
      const before = acked();
      await eventually("stored during the outage", async () => acked() >= before + 8, 30_000);
      await startOne(settings, "redis");
      redisDown = false;
      const restarted = acked();
      await eventually("talking again", async () => acked() >= restarted + 12, 30_000);
    } finally {
      clearInterval(talk);
      if (redisDown) await startOne(settings, "redis");
    }
    await eventually("every send answered", async () => answered() >= sent, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${answered()} of ${sent}; last ${JSON.stringify(aliceTab.frames.slice(-3))}`);
    });
    const ackedSeqs = aliceTab.frames.flatMap((f) => (f.type === "ack" ? [f.seq] : [])).sort((a, b) => a - b);
    await eventually("Bob has every acknowledged message", async () => seqsOf(bobTab).length >= ackedSeqs.length, 30_000);
    assert.deepEqual(seqsOf(bobTab), ackedSeqs, "each once, in number order");
  });

  it("many sockets sending at once, in one room and in several: each socket gets every message once, in number order", async () => {
    const rooms = await Promise.all([room(), room(), room()]);
    const tabs = (
      await Promise.all(
        rooms.map(async (r) =>
          Promise.all([
            connect(r.alice.browser, r.roomId, instanceA),
            connect(r.alice.browser, r.roomId, instanceB),
            connect(r.bob.browser, r.roomId, instanceA),
            connect(r.bob.browser, r.roomId, instanceB),
          ]),
        ),
      )
    ).map((group, i) => ({ roomId: rooms[i]?.roomId ?? "", group }));
    // 20 sends from every socket at once: 40 per user, under the limit; each instance keeps
    // several inserts of each room in flight.
    const PER_SOCKET = 20;
    for (let n = 0; n < PER_SOCKET; n++)
      for (const { group } of tabs)
        group.forEach((tab, t) => tab.send({ type: "send", clientId: `m${t}-${n}`, text: `socket ${t} message ${n}` }));
    const total = 4 * PER_SOCKET;
    const acks = (tab: ChatClient) => tab.frames.flatMap((f) => (f.type === "ack" ? [f.seq] : []));
    for (const { roomId, group } of tabs) {
      await eventually(
        "every send acked and every message delivered",
        async () => group.every((tab) => acks(tab).length === PER_SOCKET && seqsOf(tab).length === total - PER_SOCKET),
        30_000,
      ).catch((err: Error) => {
        throw new Error(
          `${err.message}: acked/delivered per socket ${group.map((tab) => `${acks(tab).length}/${seqsOf(tab).length}`).join(" ")}`,
        );
      });
      const stored = (await mongoose.connection.db?.collection("messages").find({ roomId, kind: "text" }).toArray()) ?? [];
      const all = stored.map((d) => Number(d.seq)).sort((a, b) => a - b);
      assert.equal(all.length, total, "every send stored once");
      for (const tab of group) {
        const got = seqsOf(tab);
        assert.deepEqual(
          got,
          [...got].sort((a, b) => a - b),
          "in number order",
        );
        assert.deepEqual(
          [...got, ...acks(tab)].sort((a, b) => a - b),
          all,
          "each once: the others' messages and its own acks",
        );
      }
    }
  });

  it("a sender over the limit keeps its order: later sends wait until the refused one goes again", async () => {
    const { alice, roomId, aliceId } = await room();
    const tab = await connect(alice.browser, roomId, instanceA);
    const ids = Array.from({ length: SEND_LIMIT.points + 10 }, (_, i) => `k${String(i + 1).padStart(2, "0")}`);
    const answered = (id: string) => tab.frames.some((f) => (f.type === "ack" || f.type === "error") && f.clientId === id);
    for (const id of ids.slice(0, SEND_LIMIT.points + 8)) tab.send({ type: "send", clientId: id, text: id });
    await eventually("every send answered", async () => ids.slice(0, SEND_LIMIT.points + 8).every(answered), 20_000);
    const limited = tab.frames.find((f) => f.type === "error" && f.clientId === ids[SEND_LIMIT.points]);
    assert.equal(limited?.type === "error" && limited.code, "rate_limited");
    assert.ok(limited?.type === "error" && (limited.retryAfterMs ?? 0) > 0, "says when to try again");

    // The limit's window passes; two new messages are typed before the queue is resent.
    await eventually("the window passed", async () => (await services.redis.exists(`duet:rl:send:${aliceId}`)) === 0, 15_000);
    for (const id of ids.slice(-2)) tab.send({ type: "send", clientId: id, text: id });
    await eventually("both answered", async () => ids.slice(-2).every(answered));
    for (const id of ids.slice(-2)) {
      const answer = tab.frames.find((f) => (f.type === "ack" || f.type === "error") && f.clientId === id);
      assert.equal(answer?.type === "error" && answer.code, "out_of_order", `${id} waits for the refused one`);
    }
    // The page resends its queue in order.
    for (const id of ids.slice(SEND_LIMIT.points)) tab.send({ type: "send", clientId: id, text: id });
    await eventually("all acked", async () => tab.frames.filter((f) => f.type === "ack").length === ids.length, 20_000);
    const stored = await mongoose.connection.db?.collection("messages").find({ roomId }).sort({ seq: 1 }).toArray();
    assert.deepEqual(
      stored?.map((d) => d.clientId),
      ids,
      "stored in the order they were typed",
    );
  });

  it("a blocked member can neither send, edit nor delete, on either instance, and a block whose event was lost holds at once", async () => {
    const { alice, bob, roomId } = await room();
    const aliceTab = await connect(alice.browser, roomId, instanceA);
    const otherTab = await connect(alice.browser, roomId, instanceB);
    aliceTab.send({ type: "send", clientId: "before", text: "before the block" });
    const { seq } = await aliceTab.next("ack", (f) => f.clientId === "before");
    otherTab.send({ type: "send", clientId: "before-b", text: "before the block, on B" });
    await otherTab.next("ack", (f) => f.clientId === "before-b");
    await bob.browser.get(`/chat/${roomId}`);
    assert.equal((await bob.browser.post(`/chat/${roomId}/block`, {})).status, 302);
    await aliceTab.next("block");
    aliceTab.send({ type: "edit", seq, text: "rewritten after the block" });
    aliceTab.send({ type: "delete", seq });
    aliceTab.send({ type: "send", clientId: "during", text: "during the block" });
    await eventually(
      "three refusals",
      async () => aliceTab.frames.filter((f) => f.type === "error" && f.code === "blocked").length === 3,
    );
    const doc = await mongoose.connection.db?.collection("messages").findOne({ roomId, seq });
    assert.equal(doc?.kind, "text");
    assert.equal(doc?.editedAt, undefined, "not edited");

    // The other instance refuses too, though nothing told it (no read between, no event awaited).
    otherTab.send({ type: "send", clientId: "during-b", text: "during the block, on B" });
    assert.equal((await otherTab.next("error", (f) => f.clientId === "during-b")).code, "blocked");

    // Unblocked: the next send goes, on either instance, without waiting for the event.
    assert.equal((await bob.browser.post(`/chat/${roomId}/unblock`, {})).status, 302);
    otherTab.send({ type: "send", clientId: "between", text: "between blocks" });
    await otherTab.next("ack", (f) => f.clientId === "between");
    // Blocked again with no event at all (as if the publish were lost): the very next send on
    // each instance is refused.
    const bobId = String((await mongoose.connection.db?.collection("users").findOne({ email: bob.email }))?._id);
    await applyRoomAction(services.redis, roomId, bobId, "block");
    for (const [tab, id] of [
      [aliceTab, "no-event-a"],
      [otherTab, "no-event-b"],
    ] as const) {
      tab.send({ type: "send", clientId: id, text: "probe" });
      assert.equal((await tab.next("error", (f) => f.clientId === id)).code, "blocked", id);
    }
    const stored = await mongoose.connection.db?.collection("messages").find({ roomId }).toArray();
    assert.deepEqual(stored?.map((d) => d.clientId).sort(), ["before", "before-b", "between"]);
  });
});
