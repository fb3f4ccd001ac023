import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { inboxMark, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { sessionFromCookieHeader } from "../http/session.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { openChat } from "../test/chat-client.js";
import { instances, signedUpUser, startConversation } from "../test/factories.js";
import { continueWithGoogle } from "../test/google.js";
import { connectServices, stack, testConfig, type Services } from "../test/support.js";
import { recoveryCodesOn, setupKeyOn, turnOnTwoFactor } from "../test/two-factor.js";
import { TwoFactorModel } from "./two-factor.js";
import { UserModel } from "./user.model.js";

const [instanceA = "", instanceB = ""] = instances;

/** Email and password on the sign-in page of `base`, in a new browser; returns it and where it was sent. */
async function passwordStep(email: string, password: string, base = instanceA) {
  const browser = openBrowser(base);
  await browser.get("/signin");
  const res = await browser.post("/signin", { email, password });
  return { browser, location: res.location };
}

const cookieHeader = (browser: TestBrowser) =>
  ["__Host-duet.sid", "__Host-duet.sid.sig"].map((n) => `${n}=${browser.cookie(n) ?? ""}`).join("; ");

describe("two-factor sign-in with an authenticator app", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("is turned on by scanning the server-made QR code or typing the key, confirmed with a current code", async () => {
    const { browser, email, password } = await signedUpUser("tf-on");
    await browser.get("/profile/two-factor");
    const noPassword = await browser.post("/profile/two-factor/setup", {});
    assert.equal(noPassword.status, 422);
    assert.match(noPassword.text, /Enter your current password/);
    const wrongPassword = await browser.post("/profile/two-factor/setup", { currentPassword: "not my password at all" });
    assert.match(wrongPassword.text, /That isn't your current password/);

    const started = await browser.post("/profile/two-factor/setup", { currentPassword: password });
    assert.equal(started.location, "/profile/two-factor#setup", started.text);
    const page = await browser.get("/profile/two-factor");
    assert.match(page.html, /<img class="totp-qr" src="data:image\/png;base64,[A-Za-z0-9+/]{200,}/);
    const key = setupKeyOn(page.html);
    assert.equal(key.length, 32, "20 random bytes in base32");

    const wrong = await browser.post("/profile/two-factor/confirm", { code: "000000" });
    assert.equal(wrong.status, 422);
    assert.match(wrong.text, /That code isn't right/);
    assert.equal(await TwoFactorModel.countDocuments({ userId: (await UserModel.findOne({ email }))?._id }), 0);

    const { totpAt } = await import("./totp.js");
    const done = await browser.post("/profile/two-factor/confirm", { code: await totpAt(key) });
    assert.equal(done.status, 200);
    assert.equal(done.headers.get("cache-control"), "no-store");
    const codes = recoveryCodesOn(done.html);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    assert.match(done.text, /this is the only time they are shown/);

    // At rest: neither the key nor any recovery code in readable form.
    const user = await UserModel.findOne({ email }).lean();
    const stored = await services.mongo.collection("twofactors").findOne({ userId: user?._id });
    const raw = JSON.stringify(stored);
    assert.doesNotMatch(raw, new RegExp(key));
    for (const code of codes) assert.doesNotMatch(raw, new RegExp(code.replace(/-/g, "-?")));
    assert.equal(stored?.recoveryCodes.length, 10);

    const after = await browser.get("/profile/two-factor");
    assert.match(after.text, /On since .* UTC/);
    assert.match(after.text, /10 of 10 recovery codes left/);
    assert.deepEqual(recoveryCodesOn(after.html), [], "the codes are never shown again");
    assert.doesNotMatch(after.html, /totp-secret/);
  });

  it("signing in asks for the code after the password, and until then the session reaches nothing", async () => {
    const alice = await signedUpUser("tf-alice");
    const bob = await signedUpUser("tf-bob");
    const roomId = await startConversation(alice.browser, bob.email);
    const { app } = await turnOnTwoFactor(alice.browser, alice.password);

    const { browser, location } = await passwordStep(alice.email, alice.password);
    assert.equal(location, "/signin/two-factor");
    const codePage = await browser.get("/signin/two-factor");
    assert.match(codePage.text, /Enter the code from your app/);
    // Half signed in: every signed-in page sends it back to sign in, and the socket is refused.
    for (const path of ["/profile", "/chat", `/chat/${roomId}`, "/profile/two-factor"]) {
      const res = await browser.get(path);
      assert.equal(res.status, 302, path);
      assert.match(res.location ?? "", /^\/signin/, path);
    }
    assert.equal(await sessionFromCookieHeader(testConfig(), services.redis, cookieHeader(browser)), undefined);
    await assert.rejects(openChat(browser, roomId), { status: 401 });
    const post = await browser.post("/profile", { displayName: "Mallory", status: "" });
    assert.match(post.location ?? "", /^\/signin/);

    const done = await browser.post("/signin/two-factor", { code: await app.code(1) });
    assert.equal(done.location, "/profile");
    assert.match((await browser.get("/profile")).text, /tf-alice tester/);
    const socket = await openChat(browser, roomId);
    socket.ws.close();
  });

  it("a code works once, on either instance, and only within one step of now", async () => {
    const { browser: owner, email, password } = await signedUpUser("tf-replay");
    const { app } = await turnOnTwoFactor(owner, password);

    const far = await passwordStep(email, password);
    for (const steps of [-3, 3]) {
      const res = await far.browser.post("/signin/two-factor", { code: await app.code(steps) });
      assert.equal(res.status, 422, `a code ${steps} steps away`);
      assert.match(res.text, /That code isn't right/);
    }
    const code = await app.code(1);
    assert.equal((await far.browser.post("/signin/two-factor", { code })).location, "/profile");

    // The same code, typed again on the other instance (an observer, a replayed request).
    const again = await passwordStep(email, password, instanceB);
    const replay = await again.browser.post("/signin/two-factor", { code });
    assert.equal(replay.status, 422);
    assert.match(replay.text, /That code was already used/);
    assert.match((await again.browser.get("/profile")).location ?? "", /^\/signin/);
  });

  it("wrong codes are limited per account across instances", async () => {
    const { browser: owner, email, password } = await signedUpUser("tf-limit");
    const { app } = await turnOnTwoFactor(owner, password);
    for (let i = 0; i < 5; i++) {
      const { browser } = await passwordStep(email, password, i % 2 ? instanceB : instanceA);
      const res = await browser.post("/signin/two-factor", { code: String(100000 + i) });
      assert.equal(res.status, 422, `wrong code ${i + 1}`);
    }
    // From yet another browser and address, with the right code: the account is resting.
    const { browser } = await passwordStep(email, password, instanceB);
    const capped = await browser.post("/signin/two-factor", { code: await app.code(1) });
    assert.equal(capped.status, 429);
    assert.match(capped.text, /Too many wrong codes\. Try again in 15 minutes/);
    assert.match((await browser.get("/profile")).location ?? "", /^\/signin/);
  });

  it("a recovery code signs in once, says how many are left and emails the owner", async () => {
    const { browser: owner, email, password } = await signedUpUser("tf-recovery");
    const { recoveryCodes } = await turnOnTwoFactor(owner, password);
    const [first = "", second = ""] = recoveryCodes;

    const { browser } = await passwordStep(email, password);
    assert.match((await browser.get("/signin/two-factor?recovery=1")).text, /Enter a recovery code/);
    const since = await inboxMark(stack.MAIL_URL, email);
    // Typed by hand: upper case and without the dashes still counts.
    const used = await browser.post("/signin/two-factor", { recoveryCode: first.toUpperCase().replace(/-/g, " ") });
    assert.equal(used.location, "/profile/two-factor?recoveryLeft=9");
    assert.match((await browser.get(used.location)).text, /You signed in with a recovery code\. 9 codes are left/);
    const mail = await waitForEmail(stack.MAIL_URL, email, { subject: /A recovery code was used/, since });
    assert.match(mail.text, /9 codes are left/);

    const reuse = await passwordStep(email, password, instanceB);
    const refused = await reuse.browser.post("/signin/two-factor", { recoveryCode: first });
    assert.equal(refused.status, 422);

    // New codes: the old ones stop working, the new ones work.
    await browser.get("/profile/two-factor");
    const renewed = await browser.post("/profile/two-factor/recovery-codes", { currentPassword: password });
    const fresh = recoveryCodesOn(renewed.html);
    assert.equal(fresh.length, 10);
    assert.match(renewed.text, /Your earlier recovery codes no longer work/);
    const old = await passwordStep(email, password);
    assert.equal((await old.browser.post("/signin/two-factor", { recoveryCode: second })).status, 422);
    const newer = await passwordStep(email, password, instanceB);
    const ok = await newer.browser.post("/signin/two-factor", { recoveryCode: fresh[3] ?? "" });
    assert.equal(ok.location, "/profile/two-factor?recoveryLeft=9");
  });

  it("turning it off needs the password and a current code, and tells the owner", async () => {
    const { browser, email, password } = await signedUpUser("tf-off");
    // Signed in on another device before two-factor was on: a session that has not proved the
    // password lately (the set-up's own session did, and would not be asked again for 10 minutes).
    const tab = (await passwordStep(email, password, instanceB)).browser;
    const { app } = await turnOnTwoFactor(browser, password);
    await tab.get("/profile/two-factor");

    const noPassword = await tab.post("/profile/two-factor/disable", { code: await app.code(1) });
    assert.equal(noPassword.status, 422);
    assert.match(noPassword.text, /Enter your current password/);
    const noCode = await tab.post("/profile/two-factor/disable", { currentPassword: password, code: "123456" });
    assert.equal(noCode.status, 422);
    assert.match(noCode.text, /That code isn't right/);
    assert.ok(await TwoFactorModel.exists({ userId: (await UserModel.findOne({ email }))?._id }));

    const since = await inboxMark(stack.MAIL_URL, email);
    const off = await tab.post("/profile/two-factor/disable", { currentPassword: password, code: await app.code(1) });
    assert.equal(off.location, "/profile/two-factor?off=1");
    await waitForEmail(stack.MAIL_URL, email, { subject: /Two-factor sign-in was turned off/, since });
    assert.equal((await passwordStep(email, password)).location, "/profile");
  });

  it("signing in with Google asks for the code too, and a Google-only account confirms with Google", async () => {
    const email = uniqueEmail("tf-google");
    const browser = openBrowser(instanceA);
    assert.equal((await continueWithGoogle(browser, { email })).location, "/profile?googleWelcome=1");
    await browser.get("/profile/two-factor");
    const unconfirmed = await browser.post("/profile/two-factor/setup", {});
    assert.equal(unconfirmed.status, 422);
    assert.match(unconfirmed.text, /Confirm it's you with Google first/);

    const reauth = await continueWithGoogle(browser, { email, start: "/auth/google/reauth?next=/profile/two-factor" });
    assert.equal(reauth.location, "/profile/two-factor");
    const { app } = await turnOnTwoFactor(browser, undefined);

    const other = openBrowser(instanceB);
    const google = await continueWithGoogle(other, { email });
    assert.equal(google.location, "/signin/two-factor");
    assert.match((await other.get("/profile")).location ?? "", /^\/signin/);
    await other.get("/signin/two-factor");
    const last = await other.post("/signin/two-factor", { code: await app.code(1) });
    assert.equal(last.location, "/profile", last.text);
  });

  it("confirming with a different Google account is refused", async () => {
    const email = uniqueEmail("tf-google-other");
    const browser = openBrowser(instanceA);
    await continueWithGoogle(browser, { email });
    await browser.get("/profile/two-factor");
    const res = await continueWithGoogle(browser, { email: uniqueEmail("someone-else"), start: "/auth/google/reauth" });
    assert.equal(res.status, 403);
    assert.match(res.text, /That's a different Google account/);
    assert.equal((await browser.post("/profile/two-factor/setup", {})).status, 422);
  });
});
