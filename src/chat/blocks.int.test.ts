/**
 * The copy of a room's blocks that Redis keeps for the write path (blocks.ts), on the real Redis
 * and MongoDB: a send is checked with no read of its own, and no copy can outlive a change.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import mongoose from "mongoose";
import { connectServices, type Services } from "../test/support.js";
import { applyRoomAction, changeBlocks, roomBlocks } from "./blocks.js";
import { blocksKey, blocksScript, runIdReader } from "./counters.js";
import { RoomModel } from "./room.model.js";
import { createSequencer } from "./sequencer.js";

describe("a room's blocks as writes check them", () => {
  let services: Services;
  before(async () => {
    services = await connectServices();
    await services.redis.ping(); // ready: the sequencer numbers from MongoDB until it is
  });
  after(() => services.close());

  async function newRoom() {
    const [alice, bob] = [new mongoose.Types.ObjectId(), new mongoose.Types.ObjectId()];
    const roomId = `blocks-${randomBytes(8).toString("hex")}`;
    // Only what blocks read: the room's keys play no part here.
    await RoomModel.collection.insertOne({ _id: roomId as never, members: [alice, bob], blockedBy: [] });
    return { roomId, alice: String(alice), bob: String(bob) };
  }

  it("sends are refused from the first one after a block, and go again from the first one after the unblock", async () => {
    const { roomId, alice, bob } = await newRoom();
    const sequencer = createSequencer(services.redis);
    const send = [{ roomId, senderId: alice }];
    assert.ok("seq" in ((await sequencer.reserve(send))[0] ?? {}), "sent before the block");
    assert.equal(await services.redis.hget(blocksKey(roomId), "by"), "", "Redis now holds the room's blocks");

    await applyRoomAction(services.redis, roomId, bob, "block");
    assert.deepEqual(await sequencer.reserve(send), [{ blockedBy: [bob] }]);
    assert.deepEqual(await roomBlocks(services.redis).blockedBy(roomId), [bob], "edits and deletes see it too");
    await applyRoomAction(services.redis, roomId, bob, "unblock");
    assert.ok("seq" in ((await sequencer.reserve(send))[0] ?? {}), "sent after the unblock");
  });

  it("a MongoDB read from before a change is not kept, even when the change's last step never reached Redis", async () => {
    const { roomId, bob } = await newRoom();
    const run = await runIdReader(services.redis).current();
    const ask = (gen: string, by: string) => blocksScript(services.redis, [blocksKey(roomId)], [run.id, gen, by]);

    // An instance finds nothing in Redis and reads MongoDB (no blocks)...
    const gen = String(await ask("", "")).slice(1);
    const stale = (await RoomModel.findById(roomId, { blockedBy: 1 }).lean())?.blockedBy.map(String).join(",") ?? "";
    // ...while Bob's block is written.
    await changeBlocks(services.redis, [roomId], () => RoomModel.updateOne({ _id: roomId }, { $addToSet: { blockedBy: bob } }));
    assert.match(String(await ask(gen, stale)), /^\?/, "the stale read is refused: read MongoDB again");
    assert.equal(await services.redis.hget(blocksKey(roomId), "by"), null, "and nothing was kept");

    // A change whose last step is lost (the instance died after writing MongoDB): a read made
    // during it is used for that check only, never kept, so it cannot outlive the change.
    await services.redis.hset(blocksKey(roomId), "by", "", "run", run.id);
    const lost = changeBlocks(services.redis, [roomId], async () => {
      const during = String(await ask("", "")).slice(1);
      assert.equal(await ask(during, ""), "=", "a read during the change answers that check");
      throw new Error("died before the last step");
    });
    await assert.rejects(lost, /died/);
    assert.equal(await services.redis.hget(blocksKey(roomId), "by"), null, "nothing kept while the change may be running");
  });

  it("a copy from another Redis run (a restart, an old snapshot) is read from MongoDB again", async () => {
    const { roomId, bob } = await newRoom();
    await RoomModel.updateOne({ _id: roomId }, { $addToSet: { blockedBy: new mongoose.Types.ObjectId(bob) } });
    await services.redis.hset(blocksKey(roomId), "by", "", "run", "an-older-run");
    assert.deepEqual(await createSequencer(services.redis).reserve([{ roomId, senderId: bob }]), [{ blockedBy: [bob] }]);
  });
});
