import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { connectServices, eventually, messageStore, stack, testConfig, type Services } from "../test/support.js";
import { createLogger } from "../logger.js";
import { createRoomActivity } from "./room-activity.js";
import { openMessage } from "./cipher.js";
import { MessageModel } from "./message.model.js";
import { RoomModel } from "./room.model.js";
import { counterKey, createSequencer, legacyKey } from "./sequencer.js";
import { bytes, roomBetween, roomKeyCache, sealingKey } from "./rooms.js";

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
    const store = messageStore(services.redis, keys.keyFor);
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
    const { dataKey } = sealingKey(await keys.keyFor(roomId));
    const first = raw?.[0];
    assert.ok(first);
    const opened = openMessage(
      dataKey,
      { roomId, seq: first.seq, senderId: String(first.senderId) },
      { v: first.v, keyId: first.keyId, iv: bytes(first.iv), ct: bytes(first.ct), mac: bytes(first.mac) },
    );
    assert.equal(opened, texts[results.findIndex((r) => r.seq === 1)]);
  });

  it("a retried send with the same client id resolves to the first number and is stored once", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const store = messageStore(services.redis, roomKeyCache([master]).keyFor);
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
    assert.equal(await MessageModel.countDocuments({ roomId, kind: { $ne: "void" } }), 2);
    // The same client id from the other member is a different message.
    const bobsOwn = await store.store({ roomId, senderId: bob, clientId, text: "mine" });
    assert.equal(bobsOwn.duplicate, false);
  });

  it("a send to a room that does not exist fails and stores nothing", async () => {
    const store = messageStore(services.redis, roomKeyCache([master]).keyFor);
    await assert.rejects(
      store.store({ roomId: "no-such-room-000000000", senderId: newUser(), clientId: "x", text: "lost?" }),
      /does not exist/,
    );
    assert.equal(await MessageModel.countDocuments({ roomId: "no-such-room-000000000" }), 0);
  });

  it("deleting a room's wrapped key makes its messages unreadable", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    await messageStore(services.redis, roomKeyCache([master]).keyFor).store({
      roomId,
      senderId: alice,
      clientId: "1",
      text: "gone",
    });
    await RoomModel.updateOne({ _id: roomId }, { $unset: { key: 1 } });
    await assert.rejects(roomKeyCache([master]).keyFor(roomId));
  });
});

describe("numbering when Redis loses or never had the counters", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  // A counter as an older Redis (before a restart) left it: checked under another run id.
  const fromOlderRedis = (roomId: string, n: number) =>
    services.redis.hset(counterKey(roomId), { n, run: "0000000000000000000000000000000000000000" });
  const seqsOf = async (roomId: string) =>
    (await MessageModel.find({ roomId }, { seq: 1 }).sort({ seq: 1 }).lean()).map((m) => m.seq);
  const send = (store: ReturnType<typeof messageStore>, roomId: string, from: string, n: number, tag: string) =>
    Promise.all(Array.from({ length: n }, (_, i) => store.store({ roomId, senderId: from, clientId: `${tag}${i}`, text: tag })));

  it("a counter Redis no longer has starts again after the highest stored number", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const store = messageStore(services.redis, roomKeyCache([master]).keyFor);
    await send(store, roomId, alice, 5, "a");
    await services.redis.del(counterKey(roomId));
    const later = await send(store, roomId, bob, 5, "b");
    assert.deepEqual(
      later.map((s) => s.seq).sort((a, b) => a - b),
      [6, 7, 8, 9, 10],
    );
    assert.deepEqual(await seqsOf(roomId), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("a counter that went back (an older Redis snapshot) overwrites nothing and loses nothing", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const store = messageStore(services.redis, roomKeyCache([master]).keyFor);
    await send(store, roomId, alice, 6, "a");
    await fromOlderRedis(roomId, 2);
    const later = await send(store, roomId, bob, 3, "b");
    assert.ok(
      later.every((s) => s.seq > 6 && !s.duplicate),
      `new numbers after the stored ones: ${later.map((s) => s.seq)}`,
    );
    const stored = await MessageModel.find({ roomId }).lean();
    assert.equal(stored.length, 9);
    assert.equal(stored.filter((m) => m.clientId.startsWith("a")).length, 6, "the first six are untouched");
    assert.equal(Number(await services.redis.hget(counterKey(roomId), "n")) >= 9, true, "the counter moved past them");
  });

  it("a counter Redis brought back from before a restart is checked against MongoDB before it is trusted", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    await send(messageStore(services.redis, roomKeyCache([master]).keyFor), roomId, alice, 5, "a");
    await fromOlderRedis(roomId, 2);
    // What a reconnecting client's catch-up asks: is anything stored after number 2?
    assert.equal(await createSequencer(services.redis).head(roomId), 5);
    assert.equal(await services.redis.hget(counterKey(roomId), "n"), "5");
  });

  it("a counter left by an older Duet is carried over, so numbers it handed out are not reused", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const store = messageStore(services.redis, roomKeyCache([master]).keyFor);
    await send(store, roomId, alice, 3, "a");
    // The old layout: a plain string counter, ahead of MongoDB (writes that failed after numbering).
    await services.redis.del(counterKey(roomId));
    await services.redis.set(legacyKey(roomId), 10);
    const later = await send(store, roomId, bob, 1, "b");
    assert.equal(later[0]?.seq, 11);
    assert.equal(await services.redis.get(legacyKey(roomId)), null, "the old counter is gone");
  });

  it("a counter kept within one Redis run is trusted by a new instance without reading MongoDB", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    await send(messageStore(services.redis, roomKeyCache([master]).keyFor), roomId, alice, 3, "a");
    // Numbers handed out whose writes failed leave the counter ahead of MongoDB; a fresh
    // instance (an app restart) answers from the counter alone.
    await services.redis.hincrby(counterKey(roomId), "n", 4);
    assert.equal(await createSequencer(services.redis).head(roomId), 7);
  });

  it("numbers counted while Redis was unreachable move its counter past them once it is back", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    await send(messageStore(services.redis, roomKeyCache([master]).keyFor), roomId, alice, 2, "a");
    const late = new Redis(stack.REDIS_URL, { lazyConnect: true });
    const store = messageStore(late, roomKeyCache([master]).keyFor);
    const offline = await send(store, roomId, bob, 3, "offline");
    assert.deepEqual(
      offline.map((s) => s.seq).sort((a, b) => a - b),
      [3, 4, 5],
    );
    await late.connect();
    const online = await send(store, roomId, bob, 1, "online");
    assert.equal(online[0]?.seq, 6, "counted on after the offline numbers, not over them");
    assert.equal(await createSequencer(services.redis).head(roomId), 6);
    late.disconnect();
  });

  it("with Redis unreachable, two instances still store every message under its own number", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const store = messageStore(services.redis, roomKeyCache([master]).keyFor);
    await send(store, roomId, alice, 3, "before");
    // Clients of a Redis that is not there: nothing listens on port 1.
    const deadRedis = () => {
      const redis = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on("error", () => {});
      return redis;
    };
    const [a, b] = [deadRedis(), deadRedis()];
    const instanceA = messageStore(a, roomKeyCache([master]).keyFor, 4);
    const instanceB = messageStore(b, roomKeyCache([master]).keyFor, 4);
    const stored = await Promise.all([send(instanceA, roomId, alice, 20, "a"), send(instanceB, roomId, bob, 20, "b")]);
    const seqs = stored.flat().map((s) => s.seq);
    assert.equal(new Set(seqs).size, 40, "no two messages share a number");
    assert.ok(Math.min(...seqs) > 3, "numbers continue after the stored ones");
    assert.equal((await seqsOf(roomId)).length, 43);
    a.disconnect();
    b.disconnect();
  });

  it("each room's last message time and number reach MongoDB, written behind the messages", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const store = messageStore(services.redis, roomKeyCache([master]).keyFor);
    const before = new Date();
    await send(store, roomId, alice, 4, "a");
    await store.drain();
    const room = await RoomModel.findById(roomId).lean();
    assert.equal(room?.seq, 4);
    assert.ok(room?.lastMessageAt && room.lastMessageAt >= new Date(before.getTime() - 1000));
  });
  it("activity in more rooms than one write command takes reaches MongoDB, and the database keeps answering", async () => {
    // 150 active rooms in one flush: as one bulk write, this wedged FerretDB for good.
    const rooms = await Promise.all(Array.from({ length: 150 }, () => roomBetween(master, newUser(), newUser())));
    const activity = createRoomActivity(createLogger(testConfig()), { intervalMs: 60_000 });
    const at = new Date();
    rooms.forEach((roomId, i) => activity.note(roomId, i + 1, at));
    await activity.close();
    const written = await RoomModel.find({ _id: { $in: rooms } }, { seq: 1 }).lean();
    assert.deepEqual(
      written.map((r) => r.seq).sort((a, b) => a - b),
      rooms.map((_, i) => i + 1),
    );
    assert.equal((await RoomModel.findById(rooms[0], { seq: 1 }).maxTimeMS(5000).lean())?.seq, 1);
  });

  it("a busy room is written when it becomes active, then not again until the touch interval, and on shutdown", async () => {
    const roomId = await roomBetween(master, newUser(), newUser());
    const activity = createRoomActivity(createLogger(testConfig()), { intervalMs: 20, touchMs: 60_000 });
    const seqOf = async () => (await RoomModel.findById(roomId, { seq: 1 }).lean())?.seq;
    activity.note(roomId, 1, new Date());
    for (let i = 0; i < 200 && (await seqOf()) !== 1; i++) await sleep(10);
    assert.equal(await seqOf(), 1, "written soon after the room became active");
    activity.note(roomId, 5, new Date());
    await sleep(300); // fifteen flush intervals
    assert.equal(await seqOf(), 1, "not rewritten while the room stays busy");
    await activity.close();
    assert.equal(await seqOf(), 5, "what was pending is written on shutdown");
  });
});

describe("room activity seeded from what the connect read", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("a room written lately (by another instance) is not written again when it becomes active here", async () => {
    const [lately, fresh] = await Promise.all([
      roomBetween(master, newUser(), newUser()),
      roomBetween(master, newUser(), newUser()),
    ]);
    const at = new Date(Date.now() - 1000);
    await RoomModel.updateOne({ _id: lately }, { $set: { seq: 1, lastMessageAt: at } });
    const activity = createRoomActivity(createLogger(testConfig()), { intervalMs: 20, touchMs: 60_000 });
    activity.seen(lately, at);
    // Noted first: were it due, it would be written before the other room.
    activity.note(lately, 5, new Date());
    activity.note(fresh, 3, new Date());
    const seqOf = async (roomId: string) => (await RoomModel.findById(roomId, { seq: 1 }).lean())?.seq;
    await eventually("the fresh room is written", async () => (await seqOf(fresh)) === 3);
    assert.equal(await seqOf(lately), 1, "the room written a second ago waits for its touch interval");
    await activity.close();
    assert.equal(await seqOf(lately), 5, "and is written on shutdown");
  });
});

describe("two instances writing to one room at once", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("every message gets its own number and none is lost", async () => {
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const instanceA = messageStore(services.redis, roomKeyCache([master]).keyFor, 8);
    const instanceB = messageStore(services.redis, roomKeyCache([master]).keyFor, 8);
    const sends = Array.from({ length: 120 }, (_, i) =>
      (i % 2 ? instanceA : instanceB).store({ roomId, senderId: i % 3 ? alice : bob, clientId: `c${i}`, text: `race ${i}` }),
    );
    const stored = await Promise.all(sends);
    const seqs = stored.map((s) => s.seq);
    assert.equal(new Set(seqs).size, 120, "no two messages share a number");
    assert.equal(await MessageModel.countDocuments({ roomId, kind: { $ne: "void" } }), 120);
  });
});

describe("several inserts in flight per instance", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  /** Sends through `store`, noting each room's numbers in the order their sends resolve. */
  const resolving =
    (order: Map<string, number[]>) =>
    (store: ReturnType<typeof messageStore>, request: Parameters<ReturnType<typeof messageStore>["store"]>[0]) =>
      store.store(request).then((stored) => {
        order.set(request.roomId, [...(order.get(request.roomId) ?? []), stored.seq]);
        return stored;
      });
  const increasing = (seqs: readonly number[]) => seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] ?? 0));

  it("a room's sends resolve (and so are published) in number order, in one room and across many", async () => {
    const keyFor = roomKeyCache([master]).keyFor;
    const rooms = await Promise.all(Array.from({ length: 8 }, () => roomBetween(master, newUser(), newUser())));
    const senders = Array.from({ length: 16 }, newUser);
    // Small batches, so each instance keeps several inserts of the same rooms in flight.
    const instances = [messageStore(services.redis, keyFor, 3), messageStore(services.redis, keyFor, 3)];
    const orders = instances.map(() => new Map<string, number[]>());
    const sends = Array.from({ length: 400 }, (_, i) => {
      // Half the sends go to one busy room, the rest spread over the others.
      const roomId = (i % 2 === 0 ? rooms[0] : rooms[1 + (i % 7)]) ?? "";
      const at = i % 2;
      const store = instances[at] ?? instances[0];
      const order = orders[at] ?? new Map<string, number[]>();
      if (!store) throw new Error("no store");
      return resolving(order)(store, { roomId, senderId: senders[i % 16] ?? "", clientId: `o${i}`, text: `in order ${i}` });
    });
    const stored = await Promise.all(sends);
    for (const [n, order] of orders.entries())
      for (const [roomId, seqs] of order) assert.ok(increasing(seqs), `instance ${n}, room ${roomId}: ${seqs.join(",")}`);
    for (const roomId of rooms) {
      const seqs = (await MessageModel.find({ roomId, kind: "text" }, { seq: 1 }).lean()).map((m) => m.seq);
      assert.equal(new Set(seqs).size, seqs.length, "no number twice");
    }
    assert.equal(await MessageModel.countDocuments({ roomId: { $in: rooms }, kind: "text" }), 400, "none lost");
    assert.equal(new Set(stored.map((s, i) => `${i % 2 === 0 ? rooms[0] : rooms[1 + (i % 7)]}:${s.seq}`)).size, 400);
  });

  it("sends whose numbers turn out taken go again under new numbers, after the room's others, and none is lost", async () => {
    const keyFor = roomKeyCache([master]).keyFor;
    const [alice, bob] = [newUser(), newUser()];
    const roomId = await roomBetween(master, alice, bob);
    const store = messageStore(services.redis, keyFor, 2);
    await store.store({ roomId, senderId: alice, clientId: "first", text: "first" });
    // Numbers the counter will hand out next are already taken (written by a lost instance's
    // counter that went back): those inserts fail part-way, the rest of each batch is stored.
    const taken = [3, 4, 9, 15];
    await MessageModel.collection.insertMany(
      taken.map((seq) => ({ _id: `${roomId}:taken:${seq}`, roomId, seq, kind: "void", createdAt: new Date() })) as never,
    );
    const order = new Map<string, number[]>();
    const stored = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        resolving(order)(store, { roomId, senderId: i % 2 ? alice : bob, clientId: `t${i}`, text: `taken ${i}` }),
      ),
    );
    assert.ok(increasing(order.get(roomId) ?? []), `resolved in number order: ${order.get(roomId)?.join(",")}`);
    assert.ok(stored.every((s) => !taken.includes(s.seq) && !s.duplicate));
    assert.equal(await MessageModel.countDocuments({ roomId, kind: "text" }), 31, "every send stored once");
    assert.equal(new Set(stored.map((s) => s.seq)).size, 30);
  });
});
