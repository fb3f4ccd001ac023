import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { openChat, type ChatClient } from "../test/chat-client.js";
import { instances, signedUpUser, startConversation } from "../test/factories.js";
import type { TestBrowser } from "../test/browser.js";

const [instanceA = "", instanceB = ""] = instances;

/** The list page split as a reader sees it: the main list, and what is under "Archived". */
async function listOf(browser: TestBrowser) {
  const html = (await browser.get("/chat")).html;
  const at = html.indexOf('id="archived"');
  const main = at < 0 ? html : html.slice(0, at);
  const archived = at < 0 ? "" : html.slice(at);
  return { main, archived, html };
}

describe("archiving a conversation", () => {
  const open: ChatClient[] = [];
  after(() => {
    for (const client of open) client.ws.terminate();
  });

  it("moves it to my Archived section only; a new message keeps it there, unread; Unarchive brings it back", async () => {
    const alice = await signedUpUser("archiver", instanceA);
    const bob = await signedUpUser("archived", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    await alice.browser.get(`/chat/${roomId}`);
    const archived = await alice.browser.post(`/chat/${roomId}/archive`, {});
    assert.equal(archived.status, 302);
    assert.equal(archived.location, "/chat");

    let list = await listOf(alice.browser);
    assert.ok(!list.main.includes(`data-room="${roomId}"`), "not in the main list");
    assert.ok(list.archived.includes(`data-room="${roomId}"`), "under Archived");
    assert.match(list.html, /Archived \(1\)/);
    // The other member's list is theirs: nothing changes there.
    const bobs = await listOf(bob.browser);
    assert.ok(bobs.main.includes(`data-room="${roomId}"`));
    assert.equal(bobs.archived, "");

    // A new message does not un-archive (decision 013): it waits there, counted as unread.
    const bobTab = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(bobTab);
    await bobTab.next("ready");
    bobTab.send({ type: "send", clientId: "arch-1", text: "still there?" });
    await bobTab.next("ack");
    list = await listOf(alice.browser);
    assert.ok(list.archived.includes(`data-room="${roomId}"`));
    assert.match(list.archived, /<span class="unread">1<\/span>/);

    // The room page offers Unarchive now; using it puts the conversation back.
    assert.match((await alice.browser.get(`/chat/${roomId}`)).text, /Unarchive/);
    const back = await alice.browser.post(`/chat/${roomId}/unarchive`, {});
    assert.equal(back.location, `/chat/${roomId}`);
    list = await listOf(alice.browser);
    assert.ok(list.main.includes(`data-room="${roomId}"`));
    assert.equal(list.archived, "");
  });

  it("is for members only: anyone else gets a 404 and the conversation stays where it was", async () => {
    const alice = await signedUpUser("archive-own", instanceA);
    const bob = await signedUpUser("archive-peer", instanceB);
    const mallory = await signedUpUser("archive-outsider", instanceA);
    const roomId = await startConversation(alice.browser, bob.email);
    await mallory.browser.get("/chat");
    for (const action of ["archive", "unarchive"]) {
      const res = await mallory.browser.post(`/chat/${roomId}/${action}`, {});
      assert.equal(res.status, 404);
    }
    for (const member of [alice, bob]) {
      const list = await listOf(member.browser);
      assert.ok(list.main.includes(`data-room="${roomId}"`));
      assert.equal(list.archived, "");
    }
  });
});
