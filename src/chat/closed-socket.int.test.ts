/**
 * A socket's sends wait their turn (one after another, so order is kept). When the socket closes
 * first, the ones still waiting were never acknowledged, and the client sends them again on its
 * next socket; working through them anyway stores what the client is about to resend, and each
 * resend of a stored message then costs a lookup and a void number. Found by scripts/chaos: after
 * a FerretDB stall, tabs that gave up on their sockets left hundreds of such sends queued on the
 * dead ones, which kept the database busy for minutes and filled the messages collection with
 * void markers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import mongoose from "mongoose";
import { pauseOne, resumeOne } from "../../scripts/lib/stack.js";
import { stackSettings } from "../../scripts/lib/settings.js";
import { openChat } from "../test/chat-client.js";
import { UserModel } from "../accounts/user.model.js";
import { instances, signedUpUser, startConversation } from "../test/factories.js";
import { eventually } from "../test/support.js";
import { chatSuite } from "../test/chat-suite.js";
import { hubMembersKey } from "./hub.js";

const [instanceA = ""] = instances;

describe("a socket that closes with sends still waiting", () => {
  const suite = chatSuite();
  const open = suite.open;

  it("drops the waiting sends; the client's resend on its next socket stores each once, in order", async () => {
    const settings = stackSettings();
    const alice = await signedUpUser("closing-a", instanceA);
    const bob = await signedUpUser("closing-b", instanceA);
    const roomId = await startConversation(alice.browser, bob.email);
    const messages = () => mongoose.connection.db?.collection("messages");
    const stored = async () => (await messages()?.countDocuments({ roomId, kind: { $ne: "void" } })) ?? -1;
    const ids = Array.from({ length: 20 }, (_, i) => `q${String(i).padStart(2, "0")}`);

    const aliceId = String((await UserModel.findOne({ email: alice.email }, { _id: 1 }).lean())?._id);
    const socketsHere = async () =>
      Object.values(await suite.services.redis.hgetall(`duet:online:${aliceId}`)).reduce((sum, n) => sum + Number(n), 0);

    const first = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(first);
    await first.next("ready");
    await first.next("presence"); // sent once the socket takes frames
    // The database hangs, so the first send waits on its write and the others queue behind it.
    pauseOne(settings, "ferretdb");
    try {
      for (const id of ids) first.send({ type: "send", clientId: id, text: id });
      // All 20 frames are on the wire before the close, so the server reads them, then the close.
      await eventually("the frames left the client", async () => first.ws.bufferedAmount === 0);
      first.ws.terminate();
      await first.closed;
      // The instance counts the socket gone in Redis before it writes anything to the database,
      // so this holds while the database still hangs: the close was seen with the sends waiting.
      await eventually("the instance saw the socket close", async () => (await socketsHere()) <= 0);
    } finally {
      resumeOne(settings, "ferretdb");
    }
    // Only the send that was already being written when the socket closed is stored.
    await eventually("the write in flight stored", async () => (await stored()) === 1);

    // The page resends its whole queue on its next socket.
    const second = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(second);
    await second.next("ready");
    for (const id of ids) second.send({ type: "send", clientId: id, text: id });
    await eventually("all acked", async () => second.frames.filter((f) => f.type === "ack").length === ids.length, 20_000);
    const docs = await messages()
      ?.find({ roomId, kind: { $ne: "void" } })
      .sort({ seq: 1 })
      .toArray();
    assert.deepEqual(
      docs?.map((d) => d.clientId),
      ids,
      "each stored once, in the order typed",
    );
    // Measured once every resend is acknowledged: had the dead socket's queue been worked through,
    // its sends and these resends would each have stored one copy and voided a number for the other.
    const voids = await messages()?.countDocuments({ roomId, kind: "void" });
    assert.equal(voids, 1, "only the resend of the one message stored from the closed socket costs a number");
  });

  it("a socket closed while it is still being set up leaves nothing behind: not online, not looking, not in the room", async () => {
    const alice = await signedUpUser("setup-close-a", instanceA);
    const bob = await signedUpUser("setup-close-b", instanceA);
    const roomId = await startConversation(alice.browser, bob.email);
    const aliceId = String((await UserModel.findOne({ email: alice.email }, { _id: 1 }).lean())?._id);
    const total = async (key: string) =>
      Object.values(await suite.services.redis.hgetall(key)).reduce((sum, n) => sum + Number(n), 0);
    // Sockets that close at each step of the setup: as soon as they open (the instance is still
    // joining the room), and as soon as "ready" comes (it is still counting the user online).
    for (let i = 0; i < 6; i++) {
      const chat = await openChat(alice.browser, roomId, { base: instanceA });
      if (i % 2 === 0) chat.ws.terminate();
      // (next() also sees a "ready" that came before it was asked.)
      else void chat.next("ready").finally(() => chat.ws.terminate());
      await chat.closed;
    }
    await eventually(
      "the instance undid every socket's setup",
      async () =>
        (await total(`duet:online:${aliceId}`)) === 0 &&
        (await total(`duet:visible:${aliceId}`)) === 0 &&
        (await suite.services.redis.smembers(hubMembersKey(roomId))).length === 0,
    );
  });
});
