/**
 * Room re-keying against the real stack: after a re-key, messages are sealed with a new data key
 * on every instance, the old key opens none of them, and everything sealed before still opens;
 * an instance that missed the announcement reads the room's keys when a message names a version
 * it lacks. The on-demand command and the age-based schedule re-key only what they should.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import mongoose from "mongoose";
import { CipherError, generateDataKey, openMessage, unwrapDataKey, wrapDataKey } from "./cipher.js";
import { readMessages } from "./history.js";
import { MessageModel } from "./message.model.js";
import { announceRekeys, rekeyDueRooms, rekeyRoom } from "./room-rekey.js";
import { RoomModel } from "./room.model.js";
import { bytes, roomKeyCache, wrappedVersions } from "./rooms.js";
import { hubMembersKey, instanceChannel, type HubEvent } from "./hub.js";
import { toWire } from "./wire.js";
import { openChat, type ChatClient } from "../test/chat-client.js";
import { instances } from "../test/factories.js";
import { eventually, messageStore, stack, testConfig } from "../test/support.js";
import { chatSuite, twoInARoom } from "../test/chat-suite.js";

const [instanceA = "", instanceB = ""] = instances;
const config = testConfig();
const masters = config.masterKeys;
const [master] = masters;
if (!master) throw new Error("the stack has no master key");

type Doc = { seq: number; keyId: number; v: number; iv: unknown; ct: unknown; mac: unknown; senderId: unknown };
const storedDoc = async (roomId: string, clientId: string) =>
  (await MessageModel.findOne({ roomId, clientId }).lean()) as unknown as Doc | null;

/** The data key of each version the room has, unwrapped with the stack's master keys. */
async function dataKeys(roomId: string): Promise<Map<number, Buffer>> {
  const room = await RoomModel.findById(roomId, { key: 1, keyId: 1, keys: 1 }).lean();
  assert.ok(room);
  return new Map(wrappedVersions(room).map((v) => [v.keyId, unwrapDataKey(masters, roomId, v.wrapped)]));
}

describe("re-keying a room", () => {
  const suite = chatSuite();
  const open = suite.open;

  it("seals new messages with a new key on both instances; the old key opens none of them, and older ones still open", async () => {
    const { alice, bob, roomId } = await twoInARoom("rekey");
    const onA = await openChat(alice.browser, roomId, { base: instanceA });
    const onB = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(onA, onB);
    await Promise.all([onA.next("ready"), onB.next("ready")]);
    onA.send({ type: "send", clientId: "before", text: "sealed with the first key" });
    assert.equal((await onB.next("message", (m) => m.clientId === "before")).text, "sealed with the first key");

    assert.equal(await rekeyRoom(master, roomId), 2);
    await announceRekeys(suite.services.redis, [roomId]);

    // Each side sends until its instance seals with the new key (it reads it when announced).
    let n = 0;
    const sendUntilKey2 = async (from: ChatClient, to: ChatClient, side: string) => {
      const clientId = `${side}-${n++}`;
      from.send({ type: "send", clientId, text: `after the re-key, ${clientId}` });
      const received = await to.next("message", (m) => m.clientId === clientId);
      assert.equal(received.text, `after the re-key, ${clientId}`, "the other member reads it");
      assert.notEqual(received.unreadable, true);
      return (await storedDoc(roomId, clientId))?.keyId === 2;
    };
    await eventually("instance A seals with key 2", () => sendUntilKey2(onA, onB, "a"));
    await eventually("instance B seals with key 2", () => sendUntilKey2(onB, onA, "b"));

    const keys = await dataKeys(roomId);
    const latest = await MessageModel.findOne({ roomId, keyId: 2 }).lean<Doc>();
    assert.ok(latest);
    const place = { roomId, seq: latest.seq, senderId: String(latest.senderId) };
    const sealed = {
      v: latest.v,
      keyId: 2,
      iv: bytes(latest.iv as Buffer),
      ct: bytes(latest.ct as Buffer),
      mac: bytes(latest.mac as Buffer),
    };
    assert.match(openMessage(keys.get(2) as Buffer, place, sealed), /^after the re-key/);
    assert.throws(() => openMessage(keys.get(1) as Buffer, place, sealed), CipherError, "the first key opens no new message");

    // A fresh reader (a new instance, the history API) opens both versions.
    const history = await readMessages(await roomKeyCache(masters).keyFor(roomId), roomId, { limit: 100 }, () => {
      throw new Error("every message opens");
    });
    assert.equal(history[0]?.text, "sealed with the first key");
    assert.ok(history.length >= 3);
  });

  it("an instance that missed the announcement reads the room's keys when a message names a newer one", async () => {
    const { alice, bob, roomId } = await twoInARoom("missed");
    const aliceId = alice.id;
    // Both instances hold the room's first key: bob listens on B, and alice's socket on A loaded it.
    const onB = await openChat(bob.browser, roomId, { base: instanceB });
    const first = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(onB, first);
    await Promise.all([onB.next("ready"), first.next("ready")]);
    first.ws.close();
    await first.closed;

    // Re-keyed with no announcement; a message sealed with key 2 reaches B live.
    assert.equal(await rekeyRoom(master, roomId), 2);
    const store = messageStore(suite.services.redis, roomKeyCache(masters).keyFor);
    const stored = await store.store({ roomId, senderId: aliceId, clientId: "unannounced", text: "sealed with key 2" });
    assert.equal((await storedDoc(roomId, "unannounced"))?.keyId, 2);
    assert.ok(stored.sealed);
    const event: HubEvent = {
      type: "message",
      roomId,
      seq: stored.seq,
      from: aliceId,
      clientId: "unannounced",
      at: stored.createdAt.toISOString(),
      sealed: toWire(stored.sealed),
    };
    // As another instance publishes it: to every instance that holds the room.
    const { redis } = suite.services;
    for (const instance of await redis.smembers(hubMembersKey(roomId)))
      await redis.publish(instanceChannel(instance), JSON.stringify(event));
    const live = await onB.next("message", (m) => m.clientId === "unannounced");
    assert.equal(live.text, "sealed with key 2");
    assert.notEqual(live.unreadable, true);

    // And A, still holding only the first key, catches alice up from MongoDB.
    const again = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(again);
    const caughtUp = await again.next("message", (m) => m.clientId === "unannounced");
    assert.equal(caughtUp.text, "sealed with key 2");
    assert.notEqual(caughtUp.unreadable, true);
  });

  it("the schedule re-keys only rooms whose newest key has reached its age", async () => {
    const { roomId } = await twoInARoom("aged");
    const { roomId: fresh } = await twoInARoom("fresh");
    await RoomModel.updateOne({ _id: roomId }, { $set: { keyRotatedAt: new Date("2001-01-01") } });
    const done = await rekeyDueRooms(master, new Date("2002-01-01"));
    assert.deepEqual(done, [roomId]);
    assert.equal((await dataKeys(roomId)).size, 2);
    assert.equal((await dataKeys(fresh)).size, 1);
    assert.deepEqual(await rekeyDueRooms(master, new Date("2002-01-01")), [], "once re-keyed, it is young again");
  });

  it("the command re-keys the rooms named, and exits 1 for a room it cannot find", async () => {
    const { roomId } = await twoInARoom("cli");
    const cli = fileURLToPath(new URL("../cli/rotate-keys.ts", import.meta.url));
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      MONGODB_URI: stack.MONGODB_URI,
      REDIS_URL: stack.REDIS_URL,
      MASTER_KEYS: stack.MASTER_KEYS,
      LOG_LEVEL: "silent",
    };
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ["--import", "tsx", cli, ...args], { env }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
    // Room ids are base64url: one may start with "-" and must not be read as an option.
    const dashed = `-${randomBytes(16).toString("base64url").slice(1)}`;
    await RoomModel.create({
      _id: dashed,
      members: [new mongoose.Types.ObjectId(), new mongoose.Types.ObjectId()],
      pairKey: `test:${dashed}`,
      key: wrapDataKey(master, dashed, generateDataKey()),
    });
    const ok = await run(["--rekey-rooms", dashed, roomId]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /re-keyed 2 rooms/);
    assert.equal((await dataKeys(roomId)).size, 2);
    assert.equal((await dataKeys(dashed)).size, 2);
    await RoomModel.deleteOne({ _id: dashed });
    const missing = await run(["--rekey-rooms", "no-such-room"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /room no-such-room: no such room/);
  });
});
