import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeIn, inboxMark, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { instances } from "../test/factories.js";
import { connectServices, stack, type Services } from "../test/support.js";
import { hashPassword } from "./passwords.js";
import { UserModel } from "./user.model.js";

const [instanceA = "", instanceB = ""] = instances;
const VICTIM_PASSWORD = "victim keeps this passphrase";
const ATTACKER_PASSWORD = "attacker picked this one";

/** Submits the sign-up form in a new browser; returns it and the inbox mark taken just before. */
async function submitSignUp(base: string, form: { email: string; displayName: string; password: string }) {
  const browser = openBrowser(base);
  await browser.get("/signup");
  const sent = await inboxMark(stack.MAIL_URL, form.email);
  const res = await browser.post("/signup", form);
  assert.equal(res.location, "/signup/verify");
  await browser.get("/signup/verify");
  return { browser, sent };
}

async function codeSince(email: string, sent: Set<string>): Promise<string> {
  return codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent }));
}

async function signInStatus(email: string, password: string): Promise<{ status: number; location: string | null }> {
  const browser = openBrowser(instanceA);
  await browser.get("/signin");
  const res = await browser.post("/signin", { email, password });
  return { status: res.status, location: res.location };
}

async function enterCode(browser: TestBrowser, code: string) {
  return browser.post("/signup/verify", { code });
}

describe("a sign-up in progress belongs to whoever receives its code", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("a second sign-up for the same address does not change the first: the attacker's password never signs in", async () => {
    const email = uniqueEmail("takeover");
    const victim = await submitSignUp(instanceA, { email, displayName: "Victor Victim", password: VICTIM_PASSWORD });
    const victimCode = await codeSince(email, victim.sent);

    // Within the code's lifetime, someone else submits the form with the same address.
    await submitSignUp(instanceB, { email, displayName: "Mallory", password: ATTACKER_PASSWORD });

    assert.equal((await enterCode(victim.browser, victimCode)).location, "/chat?welcome=1");
    const profile = await victim.browser.get("/profile");
    assert.match(profile.text, /Victor Victim/);
    assert.doesNotMatch(profile.text, /Mallory/);

    assert.equal((await signInStatus(email, ATTACKER_PASSWORD)).status, 401, "the attacker's password does not sign in");
    assert.equal((await signInStatus(email, VICTIM_PASSWORD)).location, "/profile", "the victim's password does");
    assert.equal(await UserModel.countDocuments({ email }), 1);
  });

  it("each sign-up for an address gets its own code, which only that sign-up accepts", async () => {
    const email = uniqueEmail("own-code");
    const victim = await submitSignUp(instanceA, { email, displayName: "Victor Victim", password: VICTIM_PASSWORD });
    const victimCode = await codeSince(email, victim.sent);
    const attacker = await submitSignUp(instanceB, { email, displayName: "Mallory", password: ATTACKER_PASSWORD });
    const attackerCode = await codeSince(email, attacker.sent);
    assert.equal(await UserModel.countDocuments({ email }), 0, "no account exists before a code is entered");

    if (attackerCode !== victimCode) {
      assert.match((await enterCode(victim.browser, attackerCode)).text, /That code isn't right/);
      assert.match((await enterCode(attacker.browser, victimCode)).text, /That code isn't right/);
    }
    assert.equal((await enterCode(victim.browser, victimCode)).location, "/chat?welcome=1");

    // Even the right code of the other sign-up changes nothing once the address has an account.
    const late = await enterCode(attacker.browser, attackerCode);
    assert.equal(late.status, 422);
    assert.equal((await signInStatus(email, ATTACKER_PASSWORD)).status, 401);
    assert.equal((await signInStatus(email, VICTIM_PASSWORD)).location, "/profile");
    const user = await UserModel.findOne({ email }).lean();
    assert.equal(user?.displayName, "Victor Victim");
  });

  it("an unverified account left by an earlier version is replaced only when a sign-up's code is entered", async () => {
    const email = uniqueEmail("legacy");
    const legacy = await UserModel.create({
      email,
      displayName: "Squatter",
      passwordHash: await hashPassword(ATTACKER_PASSWORD),
      emailVerified: false,
    });
    const victim = await submitSignUp(instanceA, { email, displayName: "Victor Victim", password: VICTIM_PASSWORD });
    const code = await codeSince(email, victim.sent);
    const squatter = await signInStatus(email, ATTACKER_PASSWORD);
    assert.equal(squatter.location, "/signup/verify", "the old password only leads to the code page");

    assert.equal((await enterCode(victim.browser, code)).location, "/chat?welcome=1");
    const user = await UserModel.findOne({ email }).lean();
    assert.equal(String(user?._id), String(legacy._id), "the same account, now with the verified sign-up's details");
    assert.equal(user?.emailVerified, true);
    assert.equal(user?.displayName, "Victor Victim");
    assert.equal((await signInStatus(email, ATTACKER_PASSWORD)).status, 401);
    assert.equal((await signInStatus(email, VICTIM_PASSWORD)).location, "/profile");
  });

  it("the owner of an unverified account from an earlier version finishes by signing in and entering the code", async () => {
    const email = uniqueEmail("legacy-owner");
    await UserModel.create({ email, displayName: "Early Bird", passwordHash: await hashPassword(VICTIM_PASSWORD) });
    const browser = openBrowser(instanceB);
    await browser.get("/signin");
    const sent = await inboxMark(stack.MAIL_URL, email);
    assert.equal((await browser.post("/signin", { email, password: VICTIM_PASSWORD })).location, "/signup/verify");
    const code = await codeSince(email, sent);
    await browser.get("/signup/verify");
    assert.equal((await enterCode(browser, code)).location, "/chat?welcome=1");
    assert.match((await browser.get("/profile")).text, /Early Bird/);
  });

  it("a sign-up for an address with a sign-up in progress looks exactly like one for a new address", async () => {
    const pending = uniqueEmail("in-progress");
    await submitSignUp(instanceA, { email: pending, displayName: "First", password: VICTIM_PASSWORD });
    const fresh = uniqueEmail("brand-new");
    const pages: string[] = [];
    for (const email of [pending, fresh]) {
      const browser = openBrowser(instanceB);
      await browser.get("/signup");
      const res = await browser.post("/signup", { email, displayName: "Second", password: ATTACKER_PASSWORD });
      assert.equal(res.status, 302);
      assert.equal(res.location, "/signup/verify");
      const page = await browser.get("/signup/verify");
      const wrong = await enterCode(browser, "000000");
      pages.push(
        [page.status, page.text, wrong.status, wrong.text]
          .join("|")
          .replace(/\S+@example\.test/g, "ADDRESS")
          .replace(/name="_csrf" value="[^"]+"/g, ""),
      );
    }
    assert.equal(pages[0], pages[1]);
  });
});
