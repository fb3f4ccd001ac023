import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { codeIn, inboxMark, emailsTo, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { instances, PASSWORD, signedUpUser } from "../test/factories.js";
import { codesSentEarlier, connectServices, stack, type Services } from "../test/support.js";
import { PendingSignUpModel } from "./pending-signups.js";
import { UserModel } from "./user.model.js";

const [instanceA = "", instanceB = ""] = instances;

async function startSignUp(email: string, browser: TestBrowser = openBrowser(instanceA)) {
  await browser.get("/signup");
  const sent = await inboxMark(stack.MAIL_URL, email);
  const res = await browser.post("/signup", { email, displayName: "Grace Hopper", password: PASSWORD });
  assert.equal(res.status, 302);
  assert.equal(res.location, "/signup/verify");
  return { browser, sent };
}

describe("sign-up with an emailed code", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("emails a 6-digit code in a text and an HTML part; the right code verifies and signs in", async () => {
    const email = uniqueEmail("signup");
    const { browser, sent } = await startSignUp(email);
    const mail = await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code: \d{6}/, since: sent });
    assert.match(mail.text, /Hi Grace Hopper/);
    assert.match(mail.html, new RegExp(codeIn(mail)));

    assert.equal(await UserModel.countDocuments({ email }), 0, "no account exists until the code is entered");
    const stored = await PendingSignUpModel.findOne({ email }).lean();
    assert.ok(stored);
    assert.doesNotMatch(JSON.stringify(stored), new RegExp(codeIn(mail)), "the code is stored only as a hash");
    assert.doesNotMatch(JSON.stringify(stored), new RegExp(PASSWORD), "the password is stored only as a hash");

    const res = await browser.post("/signup/verify", { code: ` ${codeIn(mail).slice(0, 3)} ${codeIn(mail).slice(3)} ` });
    assert.equal(res.location, "/chat?welcome=1");
    assert.equal((await UserModel.findOne({ email }).lean())?.emailVerified, true);
    const profile = await browser.get("/profile");
    assert.equal(profile.status, 200);
    assert.match(profile.text, /Grace Hopper/);
    assert.equal(await PendingSignUpModel.countDocuments({ _id: stored._id }), 0, "a used code is gone");
  });

  it("a wrong code says how many tries are left, and the fifth wrong try kills the code", async () => {
    const email = uniqueEmail("tries");
    const { browser, sent } = await startSignUp(email);
    const code = codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent }));
    const wrong = code === "000000" ? "111111" : "000000";
    for (let left = 4; left >= 1; left--) {
      const res = await browser.post("/signup/verify", { code: wrong });
      assert.equal(res.status, 422);
      assert.match(res.text, new RegExp(`That code isn't right. ${left} tr(y|ies) left.`));
    }
    const fifth = await browser.post("/signup/verify", { code: wrong });
    assert.match(fifth.text, /Too many wrong codes/);
    const right = await browser.post("/signup/verify", { code });
    assert.equal(right.status, 422, "even the right code is refused once the code is dead");
    assert.match(right.text, /Too many wrong codes|expired/);
    assert.equal(await UserModel.countDocuments({ email }), 0, "no account was made");
  });

  it("a code older than 10 minutes is refused", async () => {
    const email = uniqueEmail("expiry");
    const { browser, sent } = await startSignUp(email);
    const code = codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent }));
    // Ten minutes pass (moved on the stored record rather than waited for).
    await PendingSignUpModel.updateOne({ email }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    const res = await browser.post("/signup/verify", { code });
    assert.equal(res.status, 422);
    assert.match(res.text, /That code has expired/);
  });

  it("resend has a one-minute cooldown and replaces the previous code", async () => {
    const email = uniqueEmail("resend");
    const { browser, sent } = await startSignUp(email);
    const first = codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent }));

    const tooSoon = await browser.post("/signup/resend", {});
    assert.equal(tooSoon.status, 429);
    assert.match(tooSoon.text, /You can ask for another code in \d+ seconds/);

    await codesSentEarlier(email, 61_000);
    const resentAt = await inboxMark(stack.MAIL_URL, email);
    const resent = await browser.post("/signup/resend", {});
    assert.equal(resent.location, "/signup/verify?resent=1");
    const second = codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: resentAt }));
    await browser.get("/signup/verify");

    if (first !== second) {
      const old = await browser.post("/signup/verify", { code: first });
      assert.match(old.text, /That code isn't right/);
    }
    assert.equal((await browser.post("/signup/verify", { code: second })).location, "/chat?welcome=1");
  });

  it("an address that already has an account gets the same page, and its owner an email", async () => {
    const { email } = await signedUpUser("taken");
    const before = (await emailsTo(stack.MAIL_URL, email)).length;
    const { browser, sent } = await startSignUp(email, openBrowser(instanceB));
    const page = await browser.get("/signup/verify");
    assert.match(page.text, /We sent a 6-digit code to \S+@example\.test/);

    const warning = await waitForEmail(stack.MAIL_URL, email, { subject: /Someone tried to sign up/, since: sent });
    assert.match(warning.text, /already has one/);
    const wrong = await browser.post("/signup/verify", { code: "123456" });
    assert.match(wrong.text, /That code isn't right. 4 tries left./, "the attacker sees the same answers as for a new address");
    await sleep(300);
    const codes = (await emailsTo(stack.MAIL_URL, email)).filter((m) => /Your Duet code/.test(m.subject) && !sent.has(m.id));
    assert.equal(codes.length, 0, "no sign-up code is sent to an existing account");
    assert.equal((await emailsTo(stack.MAIL_URL, email)).length, before + 1);
    assert.equal(await UserModel.countDocuments({ email }), 1);
  });

  it("registering a taken address takes about as long as a new one", async () => {
    const { email: taken } = await signedUpUser("timing");
    const time = async (email: string) => {
      const browser = openBrowser(instanceA);
      await browser.get("/signup");
      const started = performance.now();
      await browser.post("/signup", { email, displayName: "Timing", password: PASSWORD });
      return performance.now() - started;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const fresh: number[] = [];
    const existing: number[] = [];
    for (let i = 0; i < 5; i++) {
      fresh.push(await time(uniqueEmail("timing-new")));
      existing.push(await time(taken));
    }
    const difference = Math.abs(median(fresh) - median(existing));
    // Both spend one argon2 hash (~tens of ms); what differs is a few database round trips.
    assert.ok(
      difference < 40,
      `medians differ by ${difference.toFixed(1)} ms (new ${median(fresh).toFixed(1)}, taken ${median(existing).toFixed(1)})`,
    );
  });

  it("an unconfirmed sign-up that signs in is sent to the code page with a fresh code", async () => {
    const email = uniqueEmail("unverified");
    const first = await startSignUp(email);
    const firstCode = codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: first.sent }));
    await codesSentEarlier(email, 61_000);
    const browser = openBrowser(instanceB);
    await browser.get("/signin");
    const sent = await inboxMark(stack.MAIL_URL, email);
    const res = await browser.post("/signin", { email, password: PASSWORD });
    assert.equal(res.location, "/signup/verify");
    const code = codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent }));
    await browser.get("/signup/verify");
    if (code !== firstCode) assert.match((await browser.post("/signup/verify", { code: firstCode })).text, /isn't right/);
    assert.equal((await browser.post("/signup/verify", { code })).location, "/chat?welcome=1");
  });

  it("bad input gets field messages, keeps what was typed except the password, and creates nothing", async () => {
    const browser = openBrowser(instanceA);
    await browser.get("/signup");
    const res = await browser.post("/signup", { email: "not-an-email", displayName: "<b>Eve</b>", password: "password1234" });
    assert.equal(res.status, 422);
    assert.match(res.text, /Enter an email address like name@example.com/);
    assert.match(res.html, /value="not-an-email"/);
    assert.match(res.html, /value="&lt;b&gt;Eve&lt;\/b&gt;"/, "typed text comes back escaped");
    assert.doesNotMatch(res.html, /password1234/);

    const common = await browser.post("/signup", { email: uniqueEmail("common"), displayName: "Eve", password: "password1234" });
    assert.match(common.text, /most common passwords/);
    const missing = await browser.post("/signup", {});
    assert.equal(missing.status, 422);
    assert.match(missing.text, /Enter your email address/);
    assert.equal(await UserModel.countDocuments({ email: "not-an-email" }), 0);
  });
});
