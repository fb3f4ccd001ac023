import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import WebSocket from "ws";
import type { InboxFrame } from "./protocol.js";
import { openChat, type ChatClient } from "../test/chat-client.js";
import { instances, signedUpUser, startConversation } from "../test/factories.js";
import type { TestBrowser } from "../test/browser.js";
import { eventually, stack } from "../test/support.js";

const [instanceA = "", instanceB = ""] = instances;

type RoomsFrame = Extract<InboxFrame, { type: "inbox" }>;
type PresenceFrame = Extract<InboxFrame, { type: "presence" }>;
type Inbox = {
  ws: WebSocket;
  frames: RoomsFrame[];
  /** Presence frames, apart: they say nothing about which rooms changed. */
  presence: PresenceFrame[];
  next(match: (f: RoomsFrame) => boolean): Promise<RoomsFrame>;
};

function openInbox(browser: TestBrowser | undefined, base: string, origin = stack.APP_URL): Promise<Inbox> {
  const cookie = browser
    ? ["__Host-duet.sid", "__Host-duet.sid.sig"].map((n) => `${n}=${browser.cookie(n) ?? ""}`).join("; ")
    : "";
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws/inbox`, {
    headers: { Origin: origin, ...(cookie ? { Cookie: cookie } : {}) },
  });
  const frames: RoomsFrame[] = [];
  const presence: PresenceFrame[] = [];
  const waiters: Array<() => void> = [];
  ws.on("message", (data) => {
    const frame = JSON.parse(data.toString()) as InboxFrame;
    if (frame.type === "presence") presence.push(frame);
    else frames.push(frame);
    for (const wake of waiters.splice(0)) wake();
  });
  const inbox: Inbox = {
    ws,
    frames,
    presence,
    next: (match) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such inbox frame; got ${JSON.stringify(frames)}`)), 15_000);
        const look = () => {
          const found = frames.find(match);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else waiters.push(look);
        };
        look();
      }),
  };
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(inbox));
    ws.once("unexpected-response", (_req, res) =>
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once("error", reject);
  });
}

describe("the conversation list's socket (/ws/inbox)", () => {
  const sockets: Array<{ ws: WebSocket }> = [];
  after(() => {
    for (const s of sockets) s.ws.terminate();
  });
  const keep = <T extends { ws: WebSocket }>(s: T) => (sockets.push(s), s);

  it("is refused without a session (401) and from another origin (403), before any frame", async () => {
    const alice = await signedUpUser("inbox-gate", instanceA);
    await assert.rejects(openInbox(undefined, instanceA), { status: 401 });
    await assert.rejects(openInbox(alice.browser, instanceA, "https://evil.example"), { status: 403 });
  });

  it("tells a member, on any instance, which of their rooms changed (new, message), room ids only, and nobody else", async () => {
    const alice = await signedUpUser("inbox-alice", instanceA);
    const bob = await signedUpUser("inbox-bob", instanceB);
    const carol = await signedUpUser("inbox-carol", instanceB);
    const aliceInbox = keep(await openInbox(alice.browser, instanceA));
    const carolInbox = keep(await openInbox(carol.browser, instanceB));
    await aliceInbox.next((f) => f.rooms.length === 0);
    await carolInbox.next((f) => f.rooms.length === 0);

    // Bob starts a conversation with Alice on the other instance: her open list hears of it.
    const roomId = await startConversation(bob.browser, alice.email);
    await aliceInbox.next((f) => f.rooms.includes(roomId));
    const seen = aliceInbox.frames.length;
    const bobTab: ChatClient = keep(await openChat(bob.browser, roomId, { base: instanceB }));
    await bobTab.next("ready");
    bobTab.send({ type: "send", clientId: "inbox-1", text: "the secret word is marmalade" });
    await bobTab.next("ack");
    const told = await aliceInbox.next((f) => aliceInbox.frames.indexOf(f) >= seen && f.rooms.includes(roomId));
    assert.deepEqual(Object.keys(told).sort(), ["rooms", "type"], "room ids only, never content");
    assert.doesNotMatch(JSON.stringify(aliceInbox.frames), /marmalade/);

    // Carol's own room changes after that: by then she would have heard of Alice and Bob's.
    const carolRoom = await startConversation(carol.browser, bob.email);
    await carolInbox.next((f) => f.rooms.includes(carolRoom));
    assert.ok(
      carolInbox.frames.every((f) => !f.rooms.includes(roomId)),
      `Carol heard of a room she is not in: ${JSON.stringify(carolInbox.frames)}`,
    );
  });
});

describe("presence on the conversation list", () => {
  it("the list's socket tells of the other member coming online and going offline, and the list says so", async () => {
    const alice = await signedUpUser("inbox-presence", instanceA);
    const bob = await signedUpUser("inbox-present", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const inbox = await openInbox(alice.browser, instanceA);
    try {
      await inbox.next((f) => f.rooms.length === 0);
      const presenceOf = async () => /data-presence="(\w+)"/.exec((await alice.browser.get("/chat")).html)?.[1];
      assert.equal(await presenceOf(), "offline");
      assert.match((await alice.browser.get("/chat")).text, /\(offline\)/);

      const bobTab = await openChat(bob.browser, roomId, { base: instanceB });
      await bobTab.next("ready");
      await eventually("Bob online on Alice's list socket", async () =>
        inbox.presence.some((p) => p.room === roomId && p.online),
      );
      assert.equal(await presenceOf(), "online");
      assert.match((await alice.browser.get("/chat")).text, /\(online\)/);

      bobTab.ws.close();
      await eventually("Bob offline on Alice's list socket", async () =>
        inbox.presence.some((p) => p.room === roomId && !p.online),
      );
      assert.equal(await presenceOf(), "offline");
      // Presence is not a change of the room: the list is not fetched again for it.
      assert.ok(inbox.frames.every((f) => !f.rooms.includes(roomId)));
    } finally {
      inbox.ws.terminate();
    }
  });

  it("tells of the other member coming and going in any of their conversations, not only the one with me", async () => {
    const alice = await signedUpUser("inbox-everywhere", instanceA);
    const bob = await signedUpUser("inbox-elsewhere", instanceB);
    const carol = await signedUpUser("inbox-third", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const bobAndCarol = await startConversation(bob.browser, carol.email);
    const inbox = await openInbox(alice.browser, instanceA);
    try {
      await inbox.next((f) => f.rooms.length === 0);
      // Bob opens his conversation with Carol, not the one with Alice: Alice's row of him goes online.
      const bobTab = await openChat(bob.browser, bobAndCarol, { base: instanceB });
      await bobTab.next("ready");
      await eventually("Bob online on Alice's list socket", async () =>
        inbox.presence.some((p) => p.room === roomId && p.online),
      );
      bobTab.ws.close();
      await eventually("Bob offline on Alice's list socket", async () =>
        inbox.presence.some((p) => p.room === roomId && !p.online),
      );
      assert.ok(
        inbox.presence.every((p) => p.room === roomId),
        "only rooms Alice is in",
      );
    } finally {
      inbox.ws.terminate();
    }
  });
});
