import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import mongoose from "mongoose";
import { instances } from "../test/factories.js";
import { eventually, stack } from "../test/support.js";
import { chatSuite, twoInARoom } from "../test/chat-suite.js";

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

  /** Alice on instance A, Bob on B, their room, and Alice's socket once each of `texts` is acknowledged. */
  async function sentInARoom(label: string, texts: string[]) {
    const { alice, bob, roomId } = await twoInARoom(label, [instanceA, instanceB]);
    const sender = await suite.connect(alice.browser, roomId, instanceA);
    for (const [i, text] of texts.entries()) {
      sender.send({ type: "send", clientId: `${label}-${i}`, text });
      await sender.next("ack", (f) => f.clientId === `${label}-${i}`);
    }
    return { alice, bob, roomId, sender };
  }

  it("reads as 'could not be read' while the room, its history, the socket and the list keep working", async () => {
    const secrets = ["first, fine", "second: the secret that gets damaged", "third, fine", "fourth, damaged too"];
    const { alice, bob, roomId, sender } = await sentInARoom("damaged", secrets);
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

    const reader = await suite.connect(bob.browser, roomId, instanceB);
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
    const { bob, roomId, sender } = await sentInARoom("damaged-numbers", ["message 1", "message 2", "message 3"]);
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
    const reader = await suite.connect(bob.browser, roomId, instanceB);
    sender.send({ type: "send", clientId: "after-numbers", text: "still talking" });
    assert.equal((await reader.next("message", (f) => f.clientId === "after-numbers")).text, "still talking");
  });

  it("a number that a flipped bit moved far ahead does not stall the room", async () => {
    const { bob, roomId, sender } = await sentInARoom("damaged-ahead", ["message 1", "message 2", "message 3"]);
    const messages = mongoose.connection.db?.collection("messages");
    await messages?.updateOne({ roomId, seq: 2 }, { $set: { seq: 2 ^ (1 << 27) } });
    const reader = await suite.connect(bob.browser, roomId, instanceB);
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
