import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import mongoose from "mongoose";
import { connectServices, type Services } from "../test/support.js";
import { openMessage } from "./cipher.js";
import { MessageModel } from "./message.model.js";
import { createMessageStore } from "./message-store.js";
import { RoomModel } from "./room.model.js";
import { bytes, roomBetween, roomKeyCache } from "./rooms.js";

const master = { id: "test-master", key: randomBytes(32) };
const newUser = () => String(new mongoose.Types.ObjectId());

describe("storing messages in the real MongoDB-protocol server", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("the same pair always gets the same room, whoever opens it and however concurrently", async () => {
    const [alice, bob, carol] = [newUser(), newUser(), newUser()];
    const rooms = await Promise.all([
      roomBetween(master, alice, bob),
      roomBetween(master, bob, alice),
      roomBetween(master, alice, bob),
    ]);
    assert.equal(new Set(rooms).size, 1);
    assert.match(rooms[0] ?? "", /^[A-Za-z0-9_-]{22}$/, "128 random bits");
    assert.notEqual(await roomBetween(master, alice, carol), rooms[0]);
    await assert.rejects(roomBetween(master, alice, alice), /two different users/);
  });

  it("concurrent sends get gap-free increasing numbers and are stored only as ciphertext", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const keys = roomKeyCache([master]);
    const store = createMessageStore(keys.keyFor);
    const texts = Array.from({ length: 200 }, (_, i) => `secret message number ${i} ✓`);
    const results = await Promise.all(
      texts.map((text, i) => store.store({ roomId, senderId: i % 2 ? alice : bob, clientId: randomUUID(), text })),
    );
    assert.deepEqual(
      results.map((r) => r.seq).sort((a, b) => a - b),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );

    const raw = await mongoose.connection.db?.collection("messages").find({ roomId }).sort({ seq: 1 }).toArray();
    assert.equal(raw?.length, 200);
    const dump = JSON.stringify(raw) + Buffer.concat((raw ?? []).map((d) => bytes(d.ct))).toString("latin1");
    assert.ok(!dump.includes("secret message"), "no plaintext in the stored documents");
    const { dataKey } = await keys.keyFor(roomId);
    const first = raw?.[0];
    assert.ok(first);
    const opened = openMessage(
      dataKey,
      { roomId, seq: first.seq },
      { v: first.v, keyId: first.keyId, iv: bytes(first.iv), ct: bytes(first.ct), mac: bytes(first.mac) },
    );
    assert.equal(opened, texts[results.findIndex((r) => r.seq === 1)]);
  });

  it("a retried send with the same client id resolves to the first number and is stored once", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const store = createMessageStore(roomKeyCache([master]).keyFor);
    const clientId = randomUUID();
    const first = await store.store({ roomId, senderId: alice, clientId, text: "hello" });
    const retry = await store.store({ roomId, senderId: alice, clientId, text: "hello" });
    const sameBatch = await Promise.all([
      store.store({ roomId, senderId: bob, clientId: "bob-1", text: "hi" }),
      store.store({ roomId, senderId: bob, clientId: "bob-1", text: "hi" }),
    ]);
    assert.equal(retry.seq, first.seq);
    assert.equal(retry.duplicate, true);
    assert.equal(sameBatch[0].seq, sameBatch[1].seq);
    assert.equal(await MessageModel.countDocuments({ roomId }), 2);
    // The same client id from the other member is a different message.
    const bobsOwn = await store.store({ roomId, senderId: bob, clientId, text: "mine" });
    assert.equal(bobsOwn.duplicate, false);
  });

  it("a send to a room that does not exist fails and stores nothing", async () => {
    const store = createMessageStore(roomKeyCache([master]).keyFor);
    await assert.rejects(
      store.store({ roomId: "no-such-room-000000000", senderId: newUser(), clientId: "x", text: "lost?" }),
      /does not exist/,
    );
    assert.equal(await MessageModel.countDocuments({ roomId: "no-such-room-000000000" }), 0);
  });

  it("deleting a room's wrapped key makes its messages unreadable", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    await createMessageStore(roomKeyCache([master]).keyFor).store({ roomId, senderId: alice, clientId: "1", text: "gone" });
    await RoomModel.updateOne({ _id: roomId }, { $unset: { key: 1 } });
    await assert.rejects(roomKeyCache([master]).keyFor(roomId));
  });
});

describe("two instances writing to one room at once", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("every message gets its own number and none is lost", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const instanceA = createMessageStore(roomKeyCache([master]).keyFor, 8);
    const instanceB = createMessageStore(roomKeyCache([master]).keyFor, 8);
    const sends = Array.from({ length: 120 }, (_, i) =>
      (i % 2 ? instanceA : instanceB).store({ roomId, senderId: i % 3 ? alice : bob, clientId: `c${i}`, text: `race ${i}` }),
    );
    const stored = await Promise.all(sends);
    const seqs = stored.map((s) => s.seq);
    assert.equal(new Set(seqs).size, 120, "no two messages share a number");
    assert.equal(await MessageModel.countDocuments({ roomId }), 120);
  });
});
