import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import mongoose from "mongoose";
import { openChat } from "../test/chat-client.js";
import { instances, signedUpUser } from "../test/factories.js";
import { eventually, stack } from "../test/support.js";
import { chatSuite } from "../test/chat-suite.js";

const [instanceA = "", instanceB = ""] = instances;

async function flipBit(roomId: string, seq: number, field: "ct" | "mac" | "iv"): Promise<void> {
  const messages = mongoose.connection.db?.collection("messages");
  const doc = await messages?.findOne({ roomId, seq });
  assert.ok(doc, `message ${seq} is stored`);
  const bytes = Buffer.from((doc[field] as { buffer: Uint8Array }).buffer);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  await messages?.updateOne({ _id: doc._id }, { $set: { [field]: bytes } });
}

/** Flips the sign bit of a stored int32 (a key id, a number), as a failing disk could. */
async function flipSignBit(roomId: string, seq: number, field: "keyId" | "seq"): Promise<void> {
  const messages = mongoose.connection.db?.collection("messages");
  const doc = await messages?.findOne({ roomId, seq });
  assert.ok(doc, `message ${seq} is stored`);
  await messages?.updateOne({ _id: doc._id }, { $set: { [field]: (doc[field] as number) ^ (1 << 31) } });
}

const appLog = (n: number) => readFileSync(join(stack.STACK_DIR, "logs", `app-${n}.log`), "utf8");

describe("one damaged stored message", () => {
  const suite = chatSuite();
  const open = suite.open;

  it("reads as 'could not be read' while the room, its history, the socket and the list keep working", async () => {
    const alice = await signedUpUser("damaged", instanceA);
    const bob = await signedUpUser("damaged-peer", instanceB);
    await alice.browser.get("/chat");
    const roomId = (await alice.browser.post("/chat/start", { email: bob.email })).location?.replace("/chat/", "") ?? "";
    const sender = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(sender);
    await sender.next("ready");
    const secrets = ["first, fine", "second: the secret that gets damaged", "third, fine", "fourth, damaged too"];
    for (const [i, text] of secrets.entries()) {
      sender.send({ type: "send", clientId: `d${i}`, text });
      await sender.next("ack", (f) => f.clientId === `d${i}`);
    }
    await flipBit(roomId, 2, "ct");
    await flipBit(roomId, 3, "iv");
    await flipBit(roomId, 4, "mac"); // the newest: it is also the conversation list's preview

    for (const browser of [alice.browser, bob.browser]) {
      const page = await browser.get(`/api/rooms/${roomId}/messages?limit=50`);
      assert.equal(page.status, 200, "the history API still answers");
      const { messages } = JSON.parse(page.html) as { messages: Array<{ seq: number; text: string; unreadable?: boolean }> };
      assert.deepEqual(
        messages.map((m) => [m.seq, m.unreadable ? "unreadable" : m.text]),
        [
          [1, "first, fine"],
          [2, "unreadable"],
          [3, "unreadable"],
          [4, "unreadable"],
        ],
      );
      const list = await browser.get("/chat");
      assert.equal(list.status, 200, "the conversation list still answers");
      assert.match(list.text, /This message could not be read/);
      assert.equal((await browser.get(`/chat/${roomId}`)).status, 200, "the room page still answers");
    }

    const reader = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(reader);
    await reader.next("ready");
    const got = reader.frames.filter((f) => f.type === "message");
    assert.deepEqual(
      got.map((f) => [f.seq, f.unreadable ? "unreadable" : f.text]),
      [
        [1, "first, fine"],
        [2, "unreadable"],
        [3, "unreadable"],
        [4, "unreadable"],
      ],
    );
    // And the room goes on.
    reader.send({ type: "send", clientId: "after-damage", text: "still talking" });
    assert.equal((await sender.next("message", (f) => f.clientId === "after-damage")).text, "still talking");

    // Logged once per message and instance, by place, never with its content.
    await alice.browser.get(`/api/rooms/${roomId}/messages?limit=50`);
    await eventually("the damage is logged", async () => /failed authentication/.test(appLog(1) + appLog(2)));
    const logs = appLog(1) + appLog(2);
    for (const text of secrets) assert.ok(!logs.includes(text), "no message text in the logs");
    for (const n of [1, 2]) {
      const lines = appLog(n)
        .split("\n")
        .filter((line) => line.includes(roomId) && line.includes("failed authentication"));
      for (const seq of [2, 3, 4])
        assert.ok(lines.filter((l) => l.includes(`"seq":${seq}`)).length <= 1, `app-${n} logs message ${seq} at most once`);
    }
  });

  it("a flipped bit in a message's key id or number leaves the room working too", async () => {
    const alice = await signedUpUser("damaged-numbers", instanceA);
    const bob = await signedUpUser("damaged-numbers-peer", instanceB);
    await alice.browser.get("/chat");
    const roomId = (await alice.browser.post("/chat/start", { email: bob.email })).location?.replace("/chat/", "") ?? "";
    const sender = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(sender);
    await sender.next("ready");
    for (const i of [1, 2, 3]) {
      sender.send({ type: "send", clientId: `n${i}`, text: `message ${i}` });
      await sender.next("ack", (f) => f.clientId === `n${i}`);
    }
    await flipSignBit(roomId, 1, "keyId");
    await flipSignBit(roomId, 2, "seq"); // now a negative number

    const page = await bob.browser.get(`/api/rooms/${roomId}/messages?limit=50`);
    assert.equal(page.status, 200, "the history API still answers");
    const { messages } = JSON.parse(page.html) as { messages: Array<{ seq: number; text: string; unreadable?: boolean }> };
    assert.deepEqual(
      messages.filter((m) => m.seq > 0).map((m) => [m.seq, m.unreadable ? "unreadable" : m.text]),
      [
        [1, "unreadable"],
        [3, "message 3"],
      ],
    );
    assert.equal((await bob.browser.get("/chat")).status, 200, "the conversation list still answers");
    const reader = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(reader);
    await reader.next("ready");
    sender.send({ type: "send", clientId: "after-numbers", text: "still talking" });
    assert.equal((await reader.next("message", (f) => f.clientId === "after-numbers")).text, "still talking");
  });

  it("a number that a flipped bit moved far ahead does not stall the room", async () => {
    const alice = await signedUpUser("damaged-ahead", instanceA);
    const bob = await signedUpUser("damaged-ahead-peer", instanceB);
    await alice.browser.get("/chat");
    const roomId = (await alice.browser.post("/chat/start", { email: bob.email })).location?.replace("/chat/", "") ?? "";
    const sender = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(sender);
    await sender.next("ready");
    for (const i of [1, 2, 3]) {
      sender.send({ type: "send", clientId: `a${i}`, text: `message ${i}` });
      await sender.next("ack", (f) => f.clientId === `a${i}`);
    }
    const messages = mongoose.connection.db?.collection("messages");
    await messages?.updateOne({ roomId, seq: 2 }, { $set: { seq: 2 ^ (1 << 27) } });
    const reader = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(reader);
    await reader.next("ready");
    // Once the reader's socket starts settling the numbers below the moved one:
    await eventually(
      "numbers are being settled",
      async () => ((await messages?.countDocuments({ roomId, kind: "void" })) ?? 0) > 0,
    );
    sender.send({ type: "send", clientId: "after-the-gap", text: "still talking" });
    assert.equal((await reader.next("message", (f) => f.clientId === "after-the-gap", 10_000)).text, "still talking");
    assert.ok(((await messages?.countDocuments({ roomId, kind: "void" })) ?? 0) < 10, "a handful of markers, not millions");
  });
});
