import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openChat } from "../test/chat-client.js";
import { instances, type signedUpUser } from "../test/factories.js";
import { MessageModel } from "./message.model.js";
import { chatSuite, twoInARoom } from "../test/chat-suite.js";

const [instanceA = ""] = instances;
const EXPLANATION = "This account was deleted. You can read the conversation but not reply.";

type User = Awaited<ReturnType<typeof signedUpUser>>;

async function deleteAccountOf(user: User): Promise<void> {
  await user.browser.get("/profile");
  const res = await user.browser.post("/profile/delete", { currentPassword: user.password });
  assert.equal(res.location, "/signin?deleted=1");
}

describe("Alice's conversation with Bob after Bob deleted his account", () => {
  const suite = chatSuite();
  const open = suite.open;

  it("the list and the room name him 'Deleted account' with a neutral picture, and offer no way to reply", async () => {
    const { alice, bob, roomId } = await twoInARoom("gone");
    await deleteAccountOf(bob);

    const list = await alice.browser.get("/chat");
    const row =
      new RegExp(`<a class="conversation[^"]*" href="/chat/${roomId}"[^>]*>([\\s\\S]*?)</a>`).exec(list.html)?.[1] ?? "";
    assert.match(row, /<strong>Deleted account<\/strong>/);
    const listPicture = /<img class="avatar" src="([^"]*)"/.exec(row)?.[1];
    assert.ok(listPicture, `the row has a picture: ${row}`);
    assert.equal((await alice.browser.get(listPicture)).status, 200, `${listPicture} loads`);

    const room = await alice.browser.get(`/chat/${roomId}`);
    assert.equal(room.status, 200);
    const header = /<header class="chat-head">([\s\S]*?)<\/header>/.exec(room.html)?.[1] ?? "";
    assert.match(header, /Deleted account/);
    assert.equal(/<img class="avatar" src="([^"]*)"/.exec(header)?.[1], listPicture);
    assert.doesNotMatch(header, /href="\/people\//, "no link to a profile that is gone");
    assert.ok(room.text.includes(EXPLANATION), "the room says why the composer is off");
    assert.match(room.html, /<textarea[^>]*\sdisabled[\s>]/);
    assert.match(room.html, /<button class="button" type="submit" disabled>Send<\/button>/);
  });

  it("a send into the room is refused with an error frame saying why, and nothing is stored", async () => {
    const { alice, bob, roomId } = await twoInARoom("gone");
    await deleteAccountOf(bob);

    const client = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(client);
    client.send({ type: "send", clientId: "late-1", text: "are you still there?" });
    const error = await client.next("error", undefined, 5000);
    assert.equal(error.code, "peer_deleted");
    assert.equal(error.message, EXPLANATION);
    // Closed as a refusal (1008): the page does not reconnect to be refused again.
    assert.equal((await client.closed).code, 1008);
    assert.ok(!client.frames.some((f) => f.type === "ack"));
    assert.equal(await MessageModel.countDocuments({ roomId, kind: { $ne: "void" } }), 0);
  });

  it("a chat open while he deletes his account stops taking messages, on the other instance too", async () => {
    const { alice, bob, roomId } = await twoInARoom("gone");
    const bobId = bob.id;
    const client = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(client);
    await client.next("ready");

    await deleteAccountOf(bob);
    // The open page is told (and reloads into the read-only room); its socket refuses sends from then on.
    await client.next("block", (f) => f.by === bobId && f.blocked, 5000);
    client.send({ type: "send", clientId: "after-1", text: "hello?" });
    const error = await client.next("error", (f) => f.clientId === "after-1", 5000);
    assert.equal(error.code, "blocked");
    assert.equal(await MessageModel.countDocuments({ roomId, kind: { $ne: "void" } }), 0);
  });
});
