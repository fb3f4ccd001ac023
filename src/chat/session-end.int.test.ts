import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { redisSessionStore, type SessionData } from "../http/session-store.js";
import { ABSOLUTE_LIFETIME_MS } from "../http/session.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { openChat, type ChatClient } from "../test/chat-client.js";
import { instances, PASSWORD, signedUpUser } from "../test/factories.js";
import { stack } from "../test/support.js";
import { inboxMark, linkIn, waitForEmail } from "../../scripts/lib/mailbox.js";
import { chatSuite } from "../test/chat-suite.js";

const [instanceA = "", instanceB = ""] = instances;
const SESSION_ENDED = 4401;

const sessionKeyOf = (browser: TestBrowser) =>
  `duet:sess:${createHash("sha256")
    .update(browser.cookie("__Host-duet.sid") ?? "")
    .digest("base64url")}`;

async function signIn(email: string, password = PASSWORD, base = instanceA): Promise<TestBrowser> {
  const browser = openBrowser(base);
  await browser.get("/signin");
  const res = await browser.post("/signin", { email, password });
  assert.equal(res.location, "/profile", `signed in: ${res.status}`);
  await browser.get("/profile"); // the CSRF token of the signed-in session
  return browser;
}

async function roomWith(owner: TestBrowser, peerEmail: string): Promise<string> {
  await owner.get("/chat");
  const started = await owner.post("/chat/start", { email: peerEmail });
  const roomId = started.location?.replace("/chat/", "") ?? "";
  assert.match(roomId, /^[A-Za-z0-9_-]{22}$/);
  return roomId;
}

/** The tab's sockets, one on each instance, live. */
async function tabs(browser: TestBrowser, roomId: string, open: ChatClient[]): Promise<ChatClient[]> {
  const clients = await Promise.all([instanceA, instanceB].map((base) => openChat(browser, roomId, { base })));
  open.push(...clients);
  await Promise.all(clients.map((c) => c.next("ready")));
  return clients;
}

async function endedWithin(clients: ChatClient[], what: string): Promise<void> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stillOpen = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: a socket was still open 10 s after the session ended`)), 10_000);
  });
  const closes = await Promise.race([Promise.all(clients.map((c) => c.closed)), stillOpen]).finally(() => clearTimeout(timer));
  for (const close of closes) assert.equal(close.code, SESSION_ENDED, `${what}: closed as signed out (${close.code})`);
  process.stdout.write(`# ${what}: every socket closed ${Date.now() - started} ms after the end\n`);
}

describe("a chat socket ends with the session that opened it, on every instance", () => {
  const suite = chatSuite();
  const open = suite.open;

  it("signing out the other sessions closes their sockets; this browser's stay open", async () => {
    const alice = await signedUpUser("revoker");
    const bob = await signedUpUser("revoked-peer", instanceB);
    const roomId = await roomWith(alice.browser, bob.email);
    const laptop = await signIn(alice.email);
    const laptopTabs = await tabs(laptop, roomId, open);
    const [here] = await tabs(alice.browser, roomId, open);

    assert.equal((await alice.browser.post("/profile/sessions/revoke-others", {})).location, "/profile?revoked=1#sessions");
    await endedWithin(laptopTabs, "revoke others");
    assert.ok(here);
    here.send({ type: "send", clientId: "still-here", text: "I'm still signed in" });
    await here.next("ack", (f) => f.clientId === "still-here");
  });

  it("signing out closes that browser's own sockets", async () => {
    const alice = await signedUpUser("leaver-tab");
    const bob = await signedUpUser("leaver-peer", instanceB);
    const roomId = await roomWith(alice.browser, bob.email);
    const mine = await tabs(alice.browser, roomId, open);
    assert.equal((await alice.browser.post("/signout", {})).location, "/");
    await endedWithin(mine, "sign-out");
  });

  it("a password change closes the other sessions' sockets, a reset and a deletion close every one", async () => {
    const alice = await signedUpUser("changer-tab");
    const bob = await signedUpUser("changer-peer", instanceB);
    const roomId = await roomWith(alice.browser, bob.email);
    const phone = await signIn(alice.email);
    const phoneTabs = await tabs(phone, roomId, open);
    const newPassword = "sunlit meadow cartwheel";
    const changed = await alice.browser.post("/profile/password", { currentPassword: PASSWORD, newPassword });
    assert.equal(changed.location, "/profile?password=1");
    await endedWithin(phoneTabs, "password change");

    const mine = await tabs(alice.browser, roomId, open);
    const resetter = openBrowser(instanceB);
    await resetter.get("/forgot");
    const since = await inboxMark(stack.MAIL_URL, alice.email);
    await resetter.post("/forgot", { email: alice.email });
    const mail = await waitForEmail(stack.MAIL_URL, alice.email, { subject: /Reset your Duet password/, since });
    const token = new URL(linkIn(mail, "/reset?token=")).searchParams.get("token") ?? "";
    await resetter.get(`/reset?token=${token}`);
    assert.equal((await resetter.post("/reset", { token, password: "harbour lantern quietly" })).location, "/profile?reset=1");
    await endedWithin(mine, "password reset");

    await resetter.get("/profile");
    const resetterTabs = await tabs(resetter, roomId, open);
    assert.equal(
      (await resetter.post("/profile/delete", { currentPassword: "harbour lantern quietly" })).location,
      "/signin?deleted=1",
    );
    await endedWithin(resetterTabs, "account deletion");
  });

  it("a socket closes when its session reaches the end of its 30 days", async () => {
    const alice = await signedUpUser("expiring");
    const bob = await signedUpUser("expiring-peer", instanceB);
    const roomId = await roomWith(alice.browser, bob.email);
    const key = sessionKeyOf(alice.browser);
    const data = JSON.parse((await suite.services.redis.get(key)) ?? "{}") as SessionData;
    // Signed in 30 days ago less five seconds (moved on the stored session rather than waited for):
    // time for the tabs to open first even on a loaded machine (two seconds was not, at load 17).
    const createdAt = Date.now() - ABSOLUTE_LIFETIME_MS + 5000;
    await suite.services.redis.set(key, JSON.stringify({ ...data, createdAt }), "KEEPTTL");
    const mine = await tabs(alice.browser, roomId, open);
    await endedWithin(mine, "absolute expiry");
    assert.ok(Date.now() >= createdAt + ABSOLUTE_LIFETIME_MS, "not before the deadline");
  });

  it("a request that loaded a session before it was revoked cannot bring it back when it saves", async () => {
    const alice = await signedUpUser("resurrect");
    const store = redisSessionStore(suite.services.redis, ABSOLUTE_LIFETIME_MS);
    const id = alice.browser.cookie("__Host-duet.sid") ?? "";
    const loaded = await store.get(id);
    assert.ok(loaded?.uid);
    const other = await signIn(alice.email, PASSWORD, instanceB);
    assert.equal((await other.post("/profile/sessions/revoke-others", {})).status, 302);
    // The in-flight request ends now and koa-session writes the whole session back.
    await store.set(id, { ...loaded, seenAt: Date.now() }, 14 * 24 * 3600_000);
    assert.equal(await suite.services.redis.exists(sessionKeyOf(alice.browser)), 0, "the session stays gone");
    assert.equal((await alice.browser.get("/profile")).status, 302, "the cookie signs nobody in");
    const listed = await other.get("/profile");
    assert.equal((listed.html.match(/\/revoke"/g) ?? []).length, 0, "not listed among the sessions");
  });

  it("revocation wins against parallel requests on the revoked cookie", async () => {
    const alice = await signedUpUser("racer");
    const key = sessionKeyOf(alice.browser);
    // Make every request write the session back (its "last used" is stale).
    const data = JSON.parse((await suite.services.redis.get(key)) ?? "{}") as SessionData;
    await suite.services.redis.set(key, JSON.stringify({ ...data, seenAt: 0 }), "KEEPTTL");
    const other = await signIn(alice.email, PASSWORD, instanceB);
    const inFlight = Array.from({ length: 30 }, (_, i) => {
      alice.browser.useInstance(i % 2 ? instanceA : instanceB);
      return alice.browser.get("/profile");
    });
    await other.post("/profile/sessions/revoke-others", {});
    await Promise.all(inFlight);
    assert.equal(await suite.services.redis.exists(key), 0, "no request brought the session back");
    assert.equal((await alice.browser.get("/profile")).status, 302);
  });
});
