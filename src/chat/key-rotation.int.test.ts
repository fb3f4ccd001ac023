import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import mongoose from "mongoose";
import { connectServices, messageStore, stack, type Services } from "../test/support.js";
import { MessageModel } from "./message.model.js";
import { readMessages } from "./history.js";
import { rewrapRoomKeys } from "./key-rotation.js";
import { RoomModel } from "./room.model.js";
import { rekeyRoom } from "./room-rekey.js";
import { roomBetween, roomKeyCache, wrappedVersions } from "./rooms.js";

const oldKey = { id: `old${randomBytes(3).toString("hex")}`, key: randomBytes(32) };
const newKey = { id: `new${randomBytes(3).toString("hex")}`, key: randomBytes(32) };
const user = () => String(new mongoose.Types.ObjectId());

describe("rotating the master key", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("rewraps room keys under the new key without touching messages, and old rooms stay readable", async () => {
    const roomId = await roomBetween(oldKey, user(), user());
    await messageStore(services.redis, roomKeyCache([oldKey]).keyFor).store({
      roomId,
      senderId: user(),
      clientId: "k",
      text: "before rotation",
    });
    const before = await MessageModel.findOne({ roomId }).lean();

    const report = await rewrapRoomKeys([newKey, oldKey]);
    assert.ok(report.rewrapped >= 1);
    assert.equal((await RoomModel.findById(roomId).lean())?.key?.masterKeyId, newKey.id);
    const afterRotation = await MessageModel.findOne({ roomId }).lean();
    assert.deepEqual(afterRotation?.ct, before?.ct, "messages are not rewritten");

    // Only the new key is needed from now on.
    const [message] = await readMessages(await roomKeyCache([newKey]).keyFor(roomId), roomId, { limit: 10 }, () => {
      throw new Error("every message opens with the new key");
    });
    assert.equal(message?.text, "before rotation");
    assert.equal((await rewrapRoomKeys([newKey, oldKey])).rewrapped, 0, "running it again changes nothing");
  });

  it("rewraps every version of a re-keyed room's key, so messages of both versions open with the new master key alone", async () => {
    const [alice, bob] = [user(), user()];
    const roomId = await roomBetween(oldKey, alice, bob);
    const store = () => messageStore(services.redis, roomKeyCache([oldKey]).keyFor);
    await store().store({ roomId, senderId: alice, clientId: "v1", text: "first key" });
    assert.equal(await rekeyRoom(oldKey, roomId), 2);
    await store().store({ roomId, senderId: bob, clientId: "v2", text: "second key" });

    await rewrapRoomKeys([newKey, oldKey]);
    const room = await RoomModel.findById(roomId).lean();
    assert.ok(room);
    assert.deepEqual(
      wrappedVersions(room).map((v) => [v.keyId, v.wrapped.masterKeyId]),
      [
        [1, newKey.id],
        [2, newKey.id],
      ],
    );
    const texts = (
      await readMessages(await roomKeyCache([newKey]).keyFor(roomId), roomId, { limit: 10 }, () => {
        throw new Error("every message opens with the new key");
      })
    ).map((m) => m.text);
    assert.deepEqual(texts, ["first key", "second key"]);
  });

  it("the command reports rooms it cannot open and exits non-zero", async () => {
    const roomId = await roomBetween({ id: "lost", key: randomBytes(32) }, user(), user());
    const cli = fileURLToPath(new URL("../cli/rotate-keys.ts", import.meta.url));
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      MONGODB_URI: stack.MONGODB_URI,
      MASTER_KEYS: `${newKey.id}:${newKey.key.toString("base64")}`,
      LOG_LEVEL: "silent",
    };
    const run = await promisify(execFile)(process.execPath, ["--import", "tsx", cli], { env }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`room ${roomId}: room key is wrapped by master key "lost", which is not configured`));
    await RoomModel.deleteOne({ _id: roomId });
  });
});
