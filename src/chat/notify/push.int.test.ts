import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { PushSubscriptionModel } from "../../accounts/push-subscriptions.js";
import { UserModel } from "../../accounts/user.model.js";
import type { TestBrowser } from "../../test/browser.js";
import { openChat, type ChatClient } from "../../test/chat-client.js";
import { instances, signedUpUser, startConversation } from "../../test/factories.js";
import { startPushService, type PushService, type Subscriber } from "../../test/push-service.js";
import { connectServices, eventually, stack, type Services } from "../../test/support.js";

const [instanceA = "", instanceB = ""] = instances;

/** A JSON request as the page's script makes it: the session's cookies and the CSRF header. */
async function api(browser: TestBrowser, base: string, method: string, path: string, body?: unknown) {
  const cookies = ["__Host-duet.sid", "__Host-duet.sid.sig", "__Host-duet.csrf"]
    .map((name) => `${name}=${browser.cookie(name) ?? ""}`)
    .join("; ");
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      "X-Forwarded-Proto": "https",
      "X-Forwarded-For": browser.ip,
      Origin: stack.APP_URL,
      Accept: "application/json",
      "Content-Type": "application/json",
      "X-CSRF-Token": browser.csrf,
      Cookie: cookies,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

/** Opens the conversation list's socket (/ws/inbox) on `base` as `browser`'s user. */
function openList(browser: TestBrowser, base: string) {
  const cookie = ["__Host-duet.sid", "__Host-duet.sid.sig"].map((n) => `${n}=${browser.cookie(n) ?? ""}`).join("; ");
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws/inbox`, { headers: { Origin: stack.APP_URL, Cookie: cookie } });
  const frames: string[] = [];
  ws.on("message", (data) => frames.push(data.toString()));
  const framed = (count: number) =>
    new Promise<void>((resolve) => {
      const look = () => (frames.length >= count ? resolve() : ws.once("message", look));
      look();
    });
  return { ws, frames, framed };
}

/** Waits until `userId` has `count` visible sockets counted in Redis (notify/visibility.ts). */
async function visibleSockets(redis: Redis, userId: string, count: number): Promise<void> {
  await eventually(`${count} visible sockets`, async () => {
    const counts = Object.values(await redis.hgetall(`duet:visible:${userId}`)).map(Number);
    return counts.reduce((a, b) => a + b, 0) === count;
  });
}

describe("notifications when Bob has no Duet page open", () => {
  let services: Services;
  let pushService: PushService;
  const open: ChatClient[] = [];
  before(async () => {
    services = await connectServices();
    pushService = await startPushService();
  });
  after(async () => {
    for (const client of open) client.ws.terminate();
    await pushService.close();
    await services.close();
  });

  /** Alice on instance A, Bob on B, their room, Bob's browser subscribed through Duet's API. */
  async function pair() {
    const alice = await signedUpUser("alice", instanceA);
    const bob = await signedUpUser("bob", instanceB);
    const roomId = await startConversation(alice.browser, bob.email);
    const push = pushService.subscriber();
    await bob.browser.get("/profile");
    const subscribed = await api(bob.browser, instanceB, "POST", "/api/push/subscription", push.subscription);
    assert.equal(subscribed.status, 201, JSON.stringify(subscribed.json));
    const aliceChat = await openChat(alice.browser, roomId, { base: instanceA });
    open.push(aliceChat);
    await aliceChat.next("ready");
    let n = 0;
    /** Alice sends one message; answers when it was acknowledged. */
    const send = async (text: string) => {
      const clientId = `c-${++n}-${Date.now()}`;
      aliceChat.send({ type: "send", clientId, text });
      await aliceChat.next("ack", (f) => f.clientId === clientId);
      return Date.now();
    };
    return { alice, bob, roomId, push, aliceChat, send };
  }

  function checkPush(push: Subscriber, index: number, roomId: string, vapidKey: string) {
    const got = push.received[index];
    assert.ok(got);
    assert.deepEqual(got.payload, {
      type: "message",
      title: "New message from alice tester",
      room: roomId,
      url: `/chat/${roomId}`,
    });
    assert.equal(got.vapidKey, vapidKey, "signed with the configured VAPID key");
    assert.equal(got.audience, pushService.origin, "the JWT's audience is the push service's origin");
    assert.equal(got.status, 201);
  }

  it("Bob is pushed 'New message from Alice' (never the text) only once he is offline, once per conversation until he reads it", async () => {
    const { bob, roomId, push, aliceChat, send } = await pair();
    const { json: key } = await api(bob.browser, instanceB, "GET", "/api/push");
    assert.equal(key.subscribed, true);

    // Bob's comings and goings as Alice sees them, from a point on (her socket said he was
    // offline as it opened).
    const presenceAfter = (online: boolean, from: number) =>
      aliceChat.next("presence", (f) => f.online === online && aliceChat.frames.indexOf(f) >= from);

    // Bob has the conversation open: nothing is pushed for what he sees.
    let from = aliceChat.frames.length;
    const bobChat = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(bobChat);
    await bobChat.next("ready");
    await presenceAfter(true, from);
    await send("secret words while Bob looks");
    from = aliceChat.frames.length;
    bobChat.ws.close();
    await presenceAfter(false, from);

    const sentOffline = await send("secret words while Bob is away");
    await push.waitFor(1);
    checkPush(push, 0, roomId, String(key.publicKey));
    assert.ok((push.received[0]?.at ?? 0) >= sentOffline, "the first push is for the message sent while Bob was away");
    assert.ok(!JSON.stringify(push.received[0]?.payload).includes("secret"), "no message text in the push");

    // Unread: the next message pushes nothing. Bob reads, leaves, and the one after pushes again.
    await send("second while away");
    from = aliceChat.frames.length;
    const reader = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(reader);
    const ready = await reader.next("ready");
    reader.send({ type: "read", seq: ready.upTo });
    await aliceChat.next("read", (f) => f.seq === ready.upTo);
    await presenceAfter(true, from);
    from = aliceChat.frames.length;
    reader.ws.close();
    await presenceAfter(false, from);
    const afterRead = await send("after reading");
    await push.waitFor(2);
    assert.ok((push.received[1]?.at ?? 0) >= afterRead, "the second push is for the message after the read, not the unread one");
    checkPush(push, 1, roomId, String(key.publicKey));
  });

  it("an open conversation list holds pushes back too", async () => {
    const { roomId, push, send, bob } = await pair();
    const bobId = String((await UserModel.findOne({ email: bob.email }, { _id: 1 }).lean())?._id);
    const list = openList(bob.browser, instanceB);
    await list.framed(1);
    await send("while the list is open");
    await list.framed(2);
    assert.match(list.frames[1] ?? "", new RegExp(roomId), "the list was told of the message");
    list.ws.close();
    await visibleSockets(services.redis, bobId, 0);
    const sent = await send("after the list closed");
    await push.waitFor(1);
    assert.ok((push.received[0]?.at ?? 0) >= sent, "the only push is for the message after the list closed");
  });

  it("Bob is pushed when every Duet tab of his is hidden (chat on one instance, list on the other), not while one is in front", async () => {
    const { alice, bob, roomId, push, send } = await pair();
    const bobId = String((await UserModel.findOne({ email: bob.email }, { _id: 1 }).lean())?._id);
    const bobChat = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(bobChat);
    await bobChat.next("ready");
    const list = openList(bob.browser, instanceA);
    await list.framed(1);
    await visibleSockets(services.redis, bobId, 2);
    bobChat.send({ type: "visibility", visible: false });
    list.ws.send(JSON.stringify({ type: "visibility", visible: false }));
    await visibleSockets(services.redis, bobId, 0);
    const hidden = await send("while every tab is hidden");
    await push.waitFor(1);
    assert.ok((push.received[0]?.at ?? 0) >= hidden);

    // Bob reads (so the next message may notify again) and brings the chat to the front.
    const read = (await bobChat.next("message", (f) => f.text === "while every tab is hidden")).seq;
    bobChat.send({ type: "read", seq: read });
    bobChat.send({ type: "visibility", visible: true });
    await visibleSockets(services.redis, bobId, 1);
    await eventually("read recorded", async () => (await services.redis.exists(`duet:push-sent:${bobId}:${roomId}`)) === 0);
    await send("while Bob looks");
    // The barrier: Carol, with no page open, is pushed for a message sent after Bob's; by then
    // Bob's would have come too (one queue per instance, taken in order).
    const carol = await signedUpUser("carol", instanceA);
    const carolRoom = await startConversation(alice.browser, carol.email);
    const carolPush = pushService.subscriber();
    await carol.browser.get("/profile");
    assert.equal((await api(carol.browser, instanceA, "POST", "/api/push/subscription", carolPush.subscription)).status, 201);
    const toCarol = await openChat(alice.browser, carolRoom, { base: instanceA });
    open.push(toCarol);
    await toCarol.next("ready");
    toCarol.send({ type: "send", clientId: "to-carol", text: "hello Carol" });
    await toCarol.next("ack", (f) => f.clientId === "to-carol");
    await carolPush.waitFor(1);
    assert.equal(push.received.length, 1, "nothing pushed to Bob while his chat was in front");
    list.ws.close();
  });

  it("a flood of visibility frames costs Redis a few writes, and the count follows the page's last word", async () => {
    const { bob, roomId } = await pair();
    const bobId = String((await UserModel.findOne({ email: bob.email }, { _id: 1 }).lean())?._id);
    const bobChat = await openChat(bob.browser, roomId, { base: instanceB });
    open.push(bobChat);
    await bobChat.next("ready");
    await visibleSockets(services.redis, bobId, 1);
    const admin = new Redis(stack.REDIS_ADMIN_URL);
    const counted = async () => Number(/cmdstat_hincrby:calls=(\d+)/.exec(await admin.info("commandstats"))?.[1] ?? 0);
    const socketsOnline = async () =>
      Object.values(await services.redis.hgetall(`duet:online:${bobId}`)).reduce((sum, n) => sum + Number(n), 0);
    try {
      const before = await counted();
      // 1,001 changes, the last one "hidden"; then the socket closes, and the instance counts
      // Bob offline only once his visibility is written (connection.ts).
      for (let i = 0; i <= 1000; i++) bobChat.send({ type: "visibility", visible: i % 2 === 1 });
      bobChat.ws.close();
      await eventually("Bob counted offline", async () => (await socketsOnline()) === 0);
      const writes = (await counted()) - before;
      // Other test files run alongside and count sockets too, hence the margin.
      assert.ok(writes < 200, `${writes} count writes for 1,001 visibility frames`);
      await visibleSockets(services.redis, bobId, 0);
    } finally {
      admin.disconnect();
    }
  });

  it("Bob may opt in to the message's text in his notifications; a bad setting is refused and changes nothing", async () => {
    const { bob, roomId, push, send } = await pair();
    await bob.browser.get("/profile");
    const bad = await bob.browser.post("/profile/notification-text", { showText: "yes please" });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /showText: must be 'on'/);
    assert.equal((await UserModel.findOne({ email: bob.email }).lean())?.notificationText, false, "off by default");
    await bob.browser.get("/profile");
    const on = await bob.browser.post("/profile/notification-text", { showText: "on" });
    assert.equal(on.location, "/profile?textShown=1#notifications");
    assert.match((await bob.browser.get("/profile")).html, /name="showText" value="on" checked/);

    const long = `Dinner at eight?   ${"x".repeat(200)}`;
    await send(long);
    const [got] = await push.waitFor(1);
    const payload = got?.payload as { body?: string; title?: string };
    assert.equal(payload.title, "New message from alice tester");
    assert.equal(payload.body, `Dinner at eight? ${"x".repeat(122)}…`, "the first 140 characters, on one line");
    assert.equal(payload.body?.length, 140);
    // The room page tells its own notifications the same.
    assert.match((await bob.browser.get(`/chat/${roomId}`)).html, /data-notify-text="true"/);

    await bob.browser.get("/profile");
    assert.equal((await bob.browser.post("/profile/notification-text", {})).location, "/profile?textHidden=1#notifications");
    assert.doesNotMatch((await bob.browser.get(`/chat/${roomId}`)).html, /data-notify-text/);
  });

  it("a muted conversation pushes nothing; unmuted, it pushes again; the list shows it muted", async () => {
    const { bob, roomId, push, send } = await pair();
    await bob.browser.get(`/chat/${roomId}`);
    assert.equal((await bob.browser.post(`/chat/${roomId}/mute`, {})).location, `/chat/${roomId}`);
    const room = await bob.browser.get(`/chat/${roomId}`);
    assert.match(room.html, /Unmute notifications/);
    assert.match((await bob.browser.get("/chat")).text, /\(muted\)/);

    await send("while muted");
    assert.equal((await bob.browser.post(`/chat/${roomId}/unmute`, {})).location, `/chat/${roomId}`);
    const sent = await send("after unmuting");
    await push.waitFor(1);
    assert.ok((push.received[0]?.at ?? 0) >= sent, "the only push is for the message after unmuting");
    assert.doesNotMatch((await bob.browser.get("/chat")).text, /\(muted\)/);
  });

  it("a subscription the push service calls gone (410) is removed, and the sessions list no longer shows it", async () => {
    const { bob, push, send } = await pair();
    assert.match((await bob.browser.get("/profile")).text, /Notifications on/);
    push.answer(410);
    await send("to an expired subscription");
    await push.waitFor(1);
    const bobId = String((await UserModel.findOne({ email: bob.email }, { _id: 1 }).lean())?._id);
    for (let i = 0; (await PushSubscriptionModel.countDocuments({ userId: bobId })) > 0; i++) {
      assert.ok(i < 200, "the expired subscription was not removed");
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.doesNotMatch((await bob.browser.get("/profile")).text, /Notifications on/);
  });

  it("the sessions list turns notifications off for a browser; deleting the account removes its subscriptions", async () => {
    const { bob } = await pair();
    const bobId = String((await UserModel.findOne({ email: bob.email }, { _id: 1 }).lean())?._id);
    const profile = await bob.browser.get("/profile");
    const action = /action="(\/profile\/sessions\/[^"]+\/notifications-off)"/.exec(profile.html)?.[1];
    assert.ok(action, "the session with notifications offers to turn them off");
    assert.equal((await bob.browser.post(action, {})).location, "/profile?notificationsOff=1#sessions");
    assert.equal(await PushSubscriptionModel.countDocuments({ userId: bobId }), 0);

    await bob.browser.get("/profile");
    const again = await api(bob.browser, instanceB, "POST", "/api/push/subscription", pushService.subscriber().subscription);
    assert.equal(again.status, 201);
    assert.equal(await PushSubscriptionModel.countDocuments({ userId: bobId }), 1);
    await bob.browser.get("/profile");
    assert.equal((await bob.browser.post("/profile/delete", { currentPassword: bob.password })).location, "/signin?deleted=1");
    assert.equal(await PushSubscriptionModel.countDocuments({ userId: bobId }), 0);
  });

  it("a bad subscription is refused with a clear error and changes nothing", async () => {
    const { bob } = await pair();
    const bobId = String((await UserModel.findOne({ email: bob.email }, { _id: 1 }).lean())?._id);
    const before = await PushSubscriptionModel.findOne({ userId: bobId }).lean();
    const good = pushService.subscriber().subscription;
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, endpoint: good.endpoint.replace("https:", "http:") }, /plain https URL/],
      [{ ...good, endpoint: "https://attacker.example/push/1" }, /not on a known push service/],
      [{ ...good, endpoint: `${good.endpoint}?${"x".repeat(1100)}` }, /at most 1024 characters/],
      [{ ...good, endpoint: "https://user:pw@localhost/x" }, /plain https URL/],
      [{ ...good, keys: { ...good.keys, p256dh: Buffer.alloc(65, 4).toString("base64url") } }, /not a P-256 public key/],
      [{ ...good, keys: { ...good.keys, auth: "c2hvcnQ" } }, /auth secret must be 16 bytes/],
      [{ endpoint: good.endpoint }, /\{endpoint, keys/],
      ["not an object", /could not be read/],
    ];
    for (const [body, message] of cases) {
      const res = await api(bob.browser, instanceB, "POST", "/api/push/subscription", body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      assert.match(String((res.json.error as { message?: string } | undefined)?.message), message);
    }
    const after = await PushSubscriptionModel.findOne({ userId: bobId }).lean();
    assert.equal(after?.sealed, before?.sealed, "the stored subscription is unchanged");
    assert.ok(!after?.sealed.includes("localhost"), "the endpoint is sealed at rest");
  });
});
