import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { instances } from "../test/factories.js";
import type { TestBrowser } from "../test/browser.js";
import { chatSuite, twoInARoom } from "../test/chat-suite.js";
import { summaryKey } from "./summaries.js";

const [instanceA = "", instanceB = ""] = instances;

/** The row of `roomId` in the list as its reader sees it: the preview line and the unread badge. */
async function rowOf(browser: TestBrowser, roomId: string) {
  const page = await browser.get("/chat");
  assert.equal(page.status, 200);
  const html = page.html;
  const start = html.indexOf(`data-room="${roomId}"`);
  assert.ok(start >= 0, "the conversation is listed");
  const row = html.slice(start, html.indexOf("</li>", start));
  return {
    preview: /<span class="conversation-preview">([^<]*)<\/span>/.exec(row)?.[1] ?? "",
    unread: Number(/<span class="unread">(\d+)<\/span>/.exec(row)?.[1] ?? 0),
  };
}

describe("the conversation list's summaries", () => {
  const suite = chatSuite();

  async function room(prefix: string) {
    const { alice, bob, roomId } = await twoInARoom(prefix, [instanceA, instanceB]);
    const [aliceTab, bobTab] = await Promise.all([
      suite.connect(alice.browser, roomId, instanceA),
      suite.connect(bob.browser, roomId, instanceB),
    ]);
    return { alice, bob, roomId, aliceTab, bobTab };
  }

  it("follow sends, edits, deletes and reads on both instances, and agree with MongoDB's answer", async () => {
    const { bob, roomId, aliceTab, bobTab } = await room("summary");
    // The list is drawn once before anything is sent, so it is held in Redis from the start.
    assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "No messages yet", unread: 0 });

    const seqs: number[] = [];
    for (const text of ["first", "second", "third"]) {
      aliceTab.send({ type: "send", clientId: `sum-${text}`, text });
      seqs.push((await aliceTab.next("ack", (a) => a.clientId === `sum-${text}`)).seq);
    }
    const [one = 0, two = 0, three = 0] = seqs;
    assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "third", unread: 3 });

    aliceTab.send({ type: "edit", seq: three, text: "third, edited" });
    await bobTab.next("edited", (f) => f.seq === three);
    assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "third, edited", unread: 3 });

    aliceTab.send({ type: "delete", seq: three });
    await bobTab.next("deleted", (f) => f.seq === three);
    assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "Message deleted", unread: 2 });

    // Bob reads the first on the other instance: one of Alice's is left unread.
    bobTab.send({ type: "read", seq: one });
    await aliceTab.next("read", (f) => f.seq === one);
    assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "Message deleted", unread: 1 });

    // An older message edited changes no preview.
    aliceTab.send({ type: "edit", seq: two, text: "second, edited" });
    await bobTab.next("edited", (f) => f.seq === two);
    const held = await rowOf(bob.browser, roomId);
    assert.deepEqual(held, { preview: "Message deleted", unread: 1 });

    // What MongoDB says when Redis holds nothing is the same.
    await suite.services.redis.del(summaryKey(roomId));
    assert.deepEqual(await rowOf(bob.browser, roomId), held);
    // And once kept again, a new message moves on from there.
    aliceTab.send({ type: "send", clientId: "sum-fourth", text: "fourth" });
    await bobTab.next("message", (f) => f.clientId === "sum-fourth");
    assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "fourth", unread: 2 });
  });

  it("are not trusted from another Redis run (a restart may have lost the newest writes)", async () => {
    const { alice, bob, roomId, aliceTab } = await room("summary-run");
    aliceTab.send({ type: "send", clientId: "run-1", text: "kept in MongoDB" });
    await aliceTab.next("ack", (a) => a.clientId === "run-1");
    await rowOf(bob.browser, roomId);
    // As a Redis that came back from an older snapshot would hold it: a summary of another run,
    // with an older last message.
    await suite.services.redis.hset(summaryKey(roomId), "run", "0".repeat(40), "lastSeq", "0");
    await suite.services.redis.hdel(summaryKey(roomId), "last");
    assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "kept in MongoDB", unread: 1 });
    assert.deepEqual(await rowOf(alice.browser, roomId), { preview: "You: kept in MongoDB", unread: 0 });
  });

  it("that Redis cannot read are drawn from MongoDB, not answered with an error", async () => {
    const { bob, roomId, aliceTab, bobTab } = await room("summary-broken");
    aliceTab.send({ type: "send", clientId: "broken-1", text: "still listed" });
    await aliceTab.next("ack", (a) => a.clientId === "broken-1");
    // Not a hash any more: every read of it is an error (WRONGTYPE), as a Redis in trouble would answer.
    await suite.services.redis.set(summaryKey(roomId), "not a summary");
    try {
      assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "still listed", unread: 1 });
      // Nor does it stop a message reaching the other instance live (the publish updates it).
      aliceTab.send({ type: "send", clientId: "broken-2", text: "and live" });
      await bobTab.next("message", (f) => f.clientId === "broken-2");
      assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "and live", unread: 2 });
    } finally {
      await suite.services.redis.del(summaryKey(roomId));
    }
  });

  it("with a damaged unread count still let messages out, and count from MongoDB again", async () => {
    const { bob, roomId, aliceTab, bobTab } = await room("unread-broken");
    aliceTab.send({ type: "send", clientId: "unread-1", text: "first" });
    await aliceTab.next("ack", (a) => a.clientId === "unread-1");
    assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "first", unread: 1 });
    const bobUnread = `${summaryKey(roomId)}:unread:${bob.id}`;
    await suite.services.redis.set(bobUnread, "not a set");
    try {
      aliceTab.send({ type: "send", clientId: "unread-2", text: "second" });
      await bobTab.next("message", (f) => f.clientId === "unread-2");
      assert.deepEqual(await rowOf(bob.browser, roomId), { preview: "second", unread: 2 });
    } finally {
      await suite.services.redis.del(bobUnread);
    }
  });

  it("go with the conversation when it is deleted", async () => {
    const { alice, bob, roomId, aliceTab } = await room("summary-gone");
    aliceTab.send({ type: "send", clientId: "gone-1", text: "soon gone" });
    await aliceTab.next("ack", (a) => a.clientId === "gone-1");
    await rowOf(bob.browser, roomId);
    const members = (await suite.services.redis.hget(summaryKey(roomId), "members"))?.split(",") ?? [];
    assert.equal(members.length, 2, "held in Redis, with both members");
    const keys = [summaryKey(roomId), ...members.map((m) => `${summaryKey(roomId)}:unread:${m}`)];
    assert.ok((await suite.services.redis.exists(...keys)) >= 2, "the summary and Bob's unread numbers");
    await alice.browser.get(`/chat/${roomId}/delete`);
    assert.equal((await alice.browser.post(`/chat/${roomId}/delete`, {})).status, 200);
    assert.equal(await suite.services.redis.exists(...keys), 0);
  });
});
