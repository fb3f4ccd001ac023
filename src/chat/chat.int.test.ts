import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { startOne, stopOne } from "../../scripts/lib/stack.js";
import { watchRefusals } from "../../scripts/lib/redis-acl.js";
import { stackSettings } from "../../scripts/lib/settings.js";
import { openChat, type ChatClient } from "../test/chat-client.js";
import { instances, signedUpUser } from "../test/factories.js";
import { connectServices, messageStore, eventually, stack, type Services } from "../test/support.js";
import type { TestBrowser } from "../test/browser.js";
import { parseMasterKeys } from "./cipher.js";
import { instanceChannel } from "./hub.js";
import { MessageModel } from "./message.model.js";
import { roomKeyCache } from "./rooms.js";
import { MAX_SOCKETS_PER_USER, SEND_LIMIT } from "./limits.js";

const [instanceA = "", instanceB = ""] = instances;

async function pair(): Promise<{
  alice: Awaited<ReturnType<typeof signedUpUser>>;
  bob: Awaited<ReturnType<typeof signedUpUser>>;
  roomId: string;
}> {
  const alice = await signedUpUser("alice", instanceA);
  const bob = await signedUpUser("bob", instanceB);
  await alice.browser.get("/chat");
  const started = await alice.browser.post("/chat/start", { email: bob.email });
  const roomId = started.location?.replace("/chat/", "") ?? "";
  assert.match(roomId, /^[A-Za-z0-9_-]{22}$/, `started: ${started.status} ${started.location}`);
  return { alice, bob, roomId };
}

async function ready(client: ChatClient) {
  return client.next("ready");
}

describe("Alice and Bob chat across two instances", () => {
  let services: Services;
  const open: ChatClient[] = [];
  const connect = async (browser: TestBrowser | undefined, roomId: string, options: Parameters<typeof openChat>[2] = {}) => {
    const client = await openChat(browser, roomId, options);
    open.push(client);
    return client;
  };
  let refusals: () => Promise<string[]>;
  before(async () => {
    services = await connectServices();
    refusals = await watchRefusals(stack.REDIS_ADMIN_URL);
  });
  after(async () => {
    for (const client of open) client.ws.terminate();
    await services.close();
  });

  it("messages go both ways, acked after storing, to every tab, in order", async () => {
    const { alice, bob, roomId } = await pair();
    const aliceTab = await connect(alice.browser, roomId, { base: instanceA });
    const aliceOtherTab = await connect(alice.browser, roomId, { base: instanceB });
    const bobTab = await connect(bob.browser, roomId, { base: instanceB });
    await Promise.all([ready(aliceTab), ready(aliceOtherTab), ready(bobTab)]);

    aliceTab.send({ type: "send", clientId: "a1", text: "Hi Bob <3 & welcome" });
    const ack = await aliceTab.next("ack", (f) => f.clientId === "a1");
    assert.equal(ack.seq, 1);
    const stored = await mongoose.connection.db?.collection("messages").findOne({ roomId, seq: 1 });
    assert.ok(stored, "the ack came after the message was stored");

    const atBob = await bobTab.next("message", (f) => f.seq === 1);
    assert.equal(atBob.text, "Hi Bob <3 & welcome");
    assert.equal(atBob.from, await userIdOf(alice.email));
    assert.equal((await aliceOtherTab.next("message", (f) => f.seq === 1)).clientId, "a1");
    assert.ok(
      !aliceTab.frames.some((f) => f.type === "message" && f.seq === 1),
      "the sending tab has its ack and gets no echo of its own message",
    );

    bobTab.send({ type: "send", clientId: "b1", text: "Hello Alice" });
    assert.equal((await aliceTab.next("message", (f) => f.clientId === "b1")).seq, 2);
  });

  it("only the two members get in: others are refused at upgrade and at the history API", async () => {
    const { alice, roomId } = await pair();
    const eve = await signedUpUser("eve", instanceA);
    await assert.rejects(openChat(eve.browser, roomId), { status: 404 });
    await assert.rejects(openChat(undefined, roomId), { status: 401 });
    await assert.rejects(openChat(alice.browser, roomId, { origin: "https://evil.example" }), { status: 403 });
    await assert.rejects(openChat(alice.browser, "AAAAAAAAAAAAAAAAAAAAAA"), { status: 404 });
    assert.equal((await eve.browser.get(`/api/rooms/${roomId}/messages`, { Accept: "application/json" })).status, 404);
    assert.equal((await eve.browser.get(`/chat/${roomId}`)).status, 404);
    assert.equal((await alice.browser.get(`/api/rooms/${roomId}/messages`, { Accept: "application/json" })).status, 200);
  });

  it("a client that reconnects from its last number gets exactly what it missed, in order", async () => {
    const { alice, bob, roomId } = await pair();
    const aliceTab = await connect(alice.browser, roomId, { base: instanceA });
    let bobTab = await connect(bob.browser, roomId, { base: instanceB });
    await Promise.all([ready(aliceTab), ready(bobTab)]);
    aliceTab.send({ type: "send", clientId: "m1", text: "one" });
    await bobTab.next("message", (f) => f.seq === 1);
    bobTab.ws.terminate();

    for (let i = 2; i <= 6; i++) aliceTab.send({ type: "send", clientId: `m${i}`, text: `message ${i}` });
    await aliceTab.next("ack", (f) => f.clientId === "m6");

    bobTab = await connect(bob.browser, roomId, { base: instanceA, after: 1 });
    const readyFrame = await ready(bobTab);
    assert.equal(readyFrame.upTo, 6);
    const got = bobTab.frames.filter((f) => f.type === "message").map((f) => (f.type === "message" ? f.seq : 0));
    assert.deepEqual(got, [2, 3, 4, 5, 6]);
  });

  it("one user may hold at most 20 chat sockets at once", async () => {
    const { alice, roomId } = await pair();
    const tabs = [];
    for (let i = 0; i < MAX_SOCKETS_PER_USER; i++)
      tabs.push(await connect(alice.browser, roomId, { base: i % 2 ? instanceA : instanceB }));
    await Promise.all(tabs.map(ready));
    await assert.rejects(openChat(alice.browser, roomId), { status: 429 });
    tabs[0]?.ws.close();
    await tabs[0]?.closed;
    await eventually("a slot frees up", async () => {
      const client = await openChat(alice.browser, roomId).catch(() => undefined);
      if (client) open.push(client);
      return client !== undefined;
    });
  });

  it("a retried send with the same client id is stored and delivered once", async () => {
    const { alice, bob, roomId } = await pair();
    const aliceTab = await connect(alice.browser, roomId);
    const bobTab = await connect(bob.browser, roomId, { base: instanceB });
    await Promise.all([ready(aliceTab), ready(bobTab)]);
    aliceTab.send({ type: "send", clientId: "same", text: "only once" });
    aliceTab.send({ type: "send", clientId: "same", text: "only once" });
    await eventually("two acks", async () => aliceTab.frames.filter((f) => f.type === "ack").length === 2);
    const seqs = aliceTab.frames.filter((f) => f.type === "ack").map((f) => (f.type === "ack" ? f.seq : 0));
    assert.equal(seqs[0], seqs[1]);
    assert.equal(await mongoose.connection.db?.collection("messages").countDocuments({ roomId, kind: { $ne: "void" } }), 1);
    bobTab.send({ type: "send", clientId: "marker", text: "after" });
    await bobTab.next("ack", (f) => f.clientId === "marker");
    assert.equal(bobTab.frames.filter((f) => f.type === "message" && f.clientId === "same").length, 1);
  });

  it("no plaintext reaches MongoDB or Redis", async () => {
    const { alice, bob, roomId } = await pair();
    const spy = new Redis(stack.REDIS_ADMIN_URL);
    const traffic: string[] = [];
    // Every instance's channel: what the hub sends anywhere.
    await spy.psubscribe(instanceChannel("*"));
    spy.on("pmessage", (_pattern: string, _channel: string, raw: string) => traffic.push(raw));
    const aliceTab = await connect(alice.browser, roomId);
    const bobTab = await connect(bob.browser, roomId, { base: instanceB });
    await Promise.all([ready(aliceTab), ready(bobTab)]);
    const secret = "the-treasure-is-under-the-old-oak";
    aliceTab.send({ type: "send", clientId: "s", text: secret });
    await bobTab.next("message", (f) => f.text === secret);
    await eventually("published", async () => traffic.some((t) => t.includes('"type":"message"')));
    spy.disconnect();
    assert.ok(!traffic.join("\n").includes(secret), "Redis pub/sub carries ciphertext only");
    const docs = await mongoose.connection.db?.collection("messages").find({ roomId }).toArray();
    assert.ok(!JSON.stringify(docs).includes(secret));
    assert.ok(
      !Buffer.concat((docs ?? []).map((d) => Buffer.from(d.ct.buffer)))
        .toString("latin1")
        .includes(secret),
    );
    // Looked at as an administrator would: the app's own Redis user may not list keys.
    const admin = new Redis(stack.REDIS_ADMIN_URL);
    const keys = await admin.keys("duet:*");
    const values = await Promise.all(keys.filter((k) => k.startsWith("duet:sess:")).map((k) => admin.get(k)));
    admin.disconnect();
    assert.ok(!values.join("").includes(secret));
  });

  it("bad frames get error frames; too many close the socket with 1008", async () => {
    const { alice, roomId } = await pair();
    const tab = await connect(alice.browser, roomId);
    await ready(tab);
    tab.send("not json");
    assert.match((await tab.next("error")).message, /frames must be JSON/);
    tab.send({ type: "send", clientId: "long", text: "x".repeat(4001) });
    const tooLong = await tab.next("error", (f) => f.clientId === "long");
    assert.equal(tooLong.code, "too_long");
    tab.send({ type: "edit", seq: 1, text: "not mine" });
    for (let i = 0; i < 8; i++) tab.send({ type: "nonsense", i });
    const closed = await tab.closed;
    assert.equal(closed.code, 1008);
    assert.equal(await mongoose.connection.db?.collection("messages").countDocuments({ roomId, kind: { $ne: "void" } }), 0);
  });

  it("an oversized frame closes the socket (1009) without storing anything", async () => {
    const { alice, roomId } = await pair();
    const tab = await connect(alice.browser, roomId);
    await ready(tab);
    tab.send({ type: "send", clientId: "huge", text: "x".repeat(200_000) });
    assert.equal((await tab.closed).code, 1009);
  });

  it("a client that stops reading is cut off with 1013 and catches up when it reconnects", async () => {
    const { alice, bob, roomId } = await pair();
    const aliceId = await userIdOf(alice.email);
    // A backlog far larger than the server will buffer for one socket (1 MiB), written directly.
    const store = messageStore(services.redis, roomKeyCache(parseMasterKeys(stack.MASTER_KEYS)).keyFor);
    const text = "backlog ".repeat(500);
    await Promise.all(
      Array.from({ length: 2000 }, (_, i) => store.store({ roomId, senderId: aliceId, clientId: `b${i}`, text })),
    );

    // The server reads the backlog after the socket opens; stay stalled well past that read
    // (timed here: FerretDB scans the whole collection, so it grows with earlier tests' data).
    const readStarted = Date.now();
    await MessageModel.find({ roomId }).lean();
    const readMs = Date.now() - readStarted;
    const stalled = await openChat(bob.browser, roomId);
    open.push(stalled);
    const socket = (stalled.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 3000 + 3 * readMs));
    socket.resume();
    const closed = await stalled.closed;
    assert.equal(closed.code, 1013);
    const got = stalled.frames.filter((f) => f.type === "message").map((f) => (f.type === "message" ? f.seq : 0));
    assert.ok(got.length < 2000, `the server stopped sending (${got.length} of 2000 were on the way)`);

    const resumed = await connect(bob.browser, roomId, { after: Math.max(0, ...got) });
    await eventually("caught up", async () => resumed.frames.some((f) => f.type === "ready"), 30_000);
    const rest = resumed.frames.filter((f) => f.type === "message").length;
    assert.equal(got.length + rest, 2000, "nothing is lost across the cut");
  });

  it("a flooding sender is limited across its sockets and instances", async () => {
    const { alice, roomId } = await pair();
    const tabA = await connect(alice.browser, roomId, { base: instanceA });
    const tabB = await connect(alice.browser, roomId, { base: instanceB });
    await Promise.all([ready(tabA), ready(tabB)]);
    for (let i = 0; i < SEND_LIMIT.points + 10; i++)
      (i % 2 ? tabA : tabB).send({ type: "send", clientId: `f${i}`, text: `flood ${i}` });
    const answers = () => [...tabA.frames, ...tabB.frames].filter((f) => f.type === "ack" || f.type === "error");
    await eventually("every send answered", async () => answers().length >= SEND_LIMIT.points + 10, 20_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(answers().map((f) => (f.type === "error" ? f.code : f.type)))}`);
      },
    );
    // Each socket's first refusal is the limit; what it sent after that waits its turn (order kept).
    const refused = answers().filter((f) => f.type === "error");
    assert.equal(refused.length, 10, JSON.stringify(refused));
    for (const tab of [tabA, tabB]) {
      const codes = tab.frames.filter((f) => f.type === "error").map((f) => (f.type === "error" ? f.code : ""));
      if (codes.length)
        assert.deepEqual(
          [...new Set(codes.slice(1))].filter((c) => c !== "out_of_order"),
          [],
        );
      if (codes.length) assert.equal(codes[0], "rate_limited");
    }
    assert.equal(
      await mongoose.connection.db?.collection("messages").countDocuments({ roomId, kind: { $ne: "void" } }),
      SEND_LIMIT.points,
    );
  });

  it("with Redis stopped, sends are still stored and acked, and the other side catches up when it returns", async () => {
    const settings = stackSettings();
    const { alice, bob, roomId } = await pair();
    const aliceTab = await connect(alice.browser, roomId, { base: instanceA });
    const bobTab = await connect(bob.browser, roomId, { base: instanceB });
    await Promise.all([ready(aliceTab), ready(bobTab)]);
    try {
      await stopOne(settings, "redis");
      for (let i = 1; i <= 3; i++) aliceTab.send({ type: "send", clientId: `r${i}`, text: `during outage ${i}` });
      await aliceTab.next("ack", (f) => f.clientId === "r3");
    } finally {
      await startOne(settings, "redis");
    }
    await eventually("Bob caught up", async () => bobTab.frames.filter((f) => f.type === "message").length === 3, 30_000);
    assert.deepEqual(
      bobTab.frames.filter((f) => f.type === "message").map((f) => (f.type === "message" ? f.text : "")),
      ["during outage 1", "during outage 2", "during outage 3"],
    );
  });

  it("with MongoDB stopped, sends are refused with an error frame naming the message", async () => {
    const settings = stackSettings();
    const { alice, roomId } = await pair();
    const tab = await connect(alice.browser, roomId);
    await ready(tab);
    try {
      // Killed, not stopped: on SIGTERM FerretDB keeps serving open connections while it winds
      // down, and the send would simply be stored.
      await stopOne(settings, "ferretdb", { graceMs: 0 });
      // Send once both instances know MongoDB is gone (their driver notices within seconds).
      await eventually("both instances report MongoDB down", async () => {
        const answers = await Promise.all([instanceA, instanceB].map((base) => fetch(`${base}/readyz`)));
        return answers.every((res) => res.status === 503);
      });
      tab.send({ type: "send", clientId: "q1", text: "queued" });
      const error = await tab.next("error", (f) => f.clientId === "q1", 40_000);
      assert.equal(error.code, "unavailable");
    } finally {
      await startOne(settings, "ferretdb");
    }
    tab.send({ type: "send", clientId: "q1", text: "queued" });
    // The number reserved for the refused attempt may stay unused: clients tolerate gaps.
    const ack = await tab.next("ack", (f) => f.clientId === "q1", 30_000);
    assert.ok(ack.seq >= 1);
    assert.equal(
      await mongoose.connection.db?.collection("messages").countDocuments({ roomId, kind: { $ne: "void" } }),
      1,
      "stored once",
    );
  });

  // Runs last: every flow above went through Redis as the app's own user (redis/app-user.acl).
  it("Redis refused none of the commands the app sent", async () => {
    assert.deepEqual(await refusals(), []);
  });
});

async function userIdOf(email: string): Promise<string> {
  const user = await mongoose.connection.db?.collection("users").findOne({ email });
  return String(user?._id);
}
