/**
 * Deleting a conversation for both members, against the real stack: only a member can; the
 * confirmation names the other person; every socket of the room closes (4404) on every instance;
 * the room, its keys and its messages are gone; both lists lose it. A deletion that stopped after
 * destroying the keys leaves nothing broken, and the pair can start again.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageModel } from "./message.model.js";
import { ROOM_DELETED_CLOSE } from "./protocol.js";
import { RoomModel } from "./room.model.js";
import { openChat } from "../test/chat-client.js";
import { instances, signedUpUser, startConversation } from "../test/factories.js";
import { chatSuite } from "../test/chat-suite.js";

const [instanceA = "", instanceB = ""] = instances;

describe("deleting a conversation for both members", () => {
  const suite = chatSuite();
  const open = suite.open;

  it("destroys it for both, closing every socket of it on every instance; only a member can", async () => {
    const alice = await signedUpUser("del-a", instanceA);
    const bob = await signedUpUser("del-b", instanceB);
    const carol = await signedUpUser("del-c", instanceA);
    const roomId = await startConversation(alice.browser, bob.email);
    const sockets = await Promise.all([
      openChat(alice.browser, roomId, { base: instanceA }),
      openChat(alice.browser, roomId, { base: instanceB }),
      openChat(bob.browser, roomId, { base: instanceB }),
    ]);
    open.push(...sockets);
    await Promise.all(sockets.map((s) => s.next("ready")));
    const [aliceA] = sockets;
    for (const n of [1, 2, 3]) aliceA?.send({ type: "send", clientId: `m${n}`, text: `message ${n}` });
    await sockets[2]?.next("message", (m) => m.clientId === "m3");
    assert.equal(await MessageModel.countDocuments({ roomId }), 3);

    await carol.browser.get("/chat");
    assert.equal((await carol.browser.get(`/chat/${roomId}/delete`)).status, 404);
    assert.equal((await carol.browser.post(`/chat/${roomId}/delete`, {})).status, 404, "a stranger cannot");
    assert.ok(await RoomModel.exists({ _id: roomId }), "and nothing changed");

    const confirm = await bob.browser.get(`/chat/${roomId}/delete`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, /Delete this conversation for both of you\?/);
    assert.match(confirm.text, /del-a tester too/, "the confirmation says the other person loses it");

    const deleted = await bob.browser.post(`/chat/${roomId}/delete`, {});
    assert.equal(deleted.status, 200);
    assert.match(deleted.text, /The conversation was deleted for both of you/);
    for (const socket of sockets) assert.equal((await socket.closed).code, ROOM_DELETED_CLOSE);

    assert.equal(await RoomModel.exists({ _id: roomId }), null, "the room and its keys are gone");
    assert.equal(await MessageModel.countDocuments({ roomId }), 0, "and every message");
    for (const who of [alice, bob]) {
      assert.equal((await who.browser.get(`/chat/${roomId}`)).status, 404);
      assert.equal((await who.browser.get(`/api/rooms/${roomId}/messages`)).status, 404);
      assert.ok(!(await who.browser.get("/chat")).html.includes(roomId), "gone from the list");
    }
    await assert.rejects(openChat(alice.browser, roomId, { base: instanceA }), /upgrade refused: 404/, "no socket opens on it");
  });

  it("a deletion that stopped after destroying the keys breaks nothing, and the pair can start again", async () => {
    const alice = await signedUpUser("half-a", instanceA);
    const bob = await signedUpUser("half-b", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const first = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(first);
    await first.next("ready");
    first.send({ type: "send", clientId: "old", text: "before the deletion" });
    await first.next("ack");
    first.ws.close();
    // The first step of a deletion, then a crash.
    await RoomModel.updateOne({ _id: roomId }, { $unset: { key: 1, keys: 1 }, $set: { deletedAt: new Date() } });

    for (const who of [alice, bob]) {
      const list = await who.browser.get("/chat");
      assert.equal(list.status, 200, "the list still opens");
      assert.ok(!list.html.includes(roomId));
      assert.equal((await who.browser.get(`/chat/${roomId}`)).status, 404);
    }
    const again = await startConversation(bob.browser, alice.email);
    assert.notEqual(again, roomId, "a new conversation, with a new key");
    assert.equal(await RoomModel.exists({ _id: roomId }), null, "the half-deleted one was finished");
    assert.equal(await MessageModel.countDocuments({ roomId }), 0);
    const chat = await openChat(bob.browser, again, { base: instanceB });
    open.push(chat);
    await chat.next("ready");
    chat.send({ type: "send", clientId: "new", text: "starting over" });
    assert.ok((await chat.next("ack")).seq >= 1);
  });
});
