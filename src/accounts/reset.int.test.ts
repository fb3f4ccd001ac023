import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { emailsTo, inboxMark, linkIn, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { openBrowser } from "../test/browser.js";
import { instances, signedUpUser } from "../test/factories.js";
import { connectServices, stack, type Services } from "../test/support.js";
import { ResetTokenModel } from "./reset-tokens.js";
import { UserModel } from "./user.model.js";

const [instanceA = "", instanceB = ""] = instances;
const NEW_PASSWORD = "copper kettle whistles twice";

/** Asks for a reset link for `email` and returns the link's path and query. */
async function resetLink(email: string): Promise<string> {
  const since = await inboxMark(stack.MAIL_URL, email);
  const browser = openBrowser(instanceA);
  await browser.get("/forgot");
  const res = await browser.post("/forgot", { email });
  assert.equal(res.status, 200);
  const mail = await waitForEmail(stack.MAIL_URL, email, { subject: /Reset your Duet password/, since });
  return new URL(linkIn(mail, "/reset?token=")).pathname + new URL(linkIn(mail, "/reset?token=")).search;
}

describe("password reset", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("answers the same for an unknown address, and sends nothing", async () => {
    const { email } = await signedUpUser("forgot-known");
    const unknown = uniqueEmail("forgot-unknown");
    const browser = openBrowser(instanceB);
    await browser.get("/forgot");
    const known = await browser.post("/forgot", { email });
    const missing = await browser.post("/forgot", { email: unknown });
    const body = (text: string) => text.replace(/\S+@example\.test/g, "ADDRESS").replace(/value="[^"]+"/g, "");
    assert.equal(known.status, missing.status);
    assert.equal(body(known.html), body(missing.html));
    await waitForEmail(stack.MAIL_URL, email, { subject: /Reset your Duet password/ });
    assert.equal((await emailsTo(stack.MAIL_URL, unknown)).length, 0);
  });

  it("the link sets a new password once, signs out other sessions and confirms by email", async () => {
    const { browser: otherDevice, email, password } = await signedUpUser("reset");
    const link = await resetLink(email);
    const stored = await ResetTokenModel.findOne({ userId: (await UserModel.findOne({ email }).lean())?._id }).lean();
    assert.ok(stored);
    assert.ok(!link.includes(stored.tokenHash), "only a hash of the token is stored");

    const browser = openBrowser(instanceB);
    const form = await browser.get(link);
    assert.equal(form.status, 200);
    assert.equal(form.headers.get("referrer-policy"), "no-referrer");
    const since = await inboxMark(stack.MAIL_URL, email);
    const token = new URLSearchParams(link.split("?")[1]).get("token") ?? "";
    const done = await browser.post("/reset", { token, password: NEW_PASSWORD });
    assert.equal(done.location, "/profile?reset=1");
    assert.equal((await browser.get("/profile")).status, 200, "the resetting browser is signed in");
    assert.equal((await otherDevice.get("/profile")).status, 302, "every other session was signed out");
    await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet password was changed/, since });

    const again = await openBrowser(instanceA).get(link);
    assert.equal(again.status, 410);
    assert.match(again.text, /This link no longer works/);
    assert.match(again.html, /href="\/forgot"/);
    const reuse = openBrowser(instanceA);
    await reuse.get("/forgot");
    assert.equal((await reuse.post("/reset", { token, password: "another strong passphrase" })).status, 410);

    const signIn = openBrowser(instanceA);
    await signIn.get("/signin");
    assert.equal((await signIn.post("/signin", { email, password })).status, 401, "the old password is gone");
    assert.equal((await signIn.post("/signin", { email, password: NEW_PASSWORD })).location, "/profile");
  });

  it("an expired link is refused with a way to ask again", async () => {
    const { email } = await signedUpUser("reset-expired");
    const link = await resetLink(email);
    await ResetTokenModel.updateMany(
      { userId: (await UserModel.findOne({ email }).lean())?._id },
      { $set: { expiresAt: new Date(Date.now() - 1000) } },
    );
    const page = await openBrowser(instanceA).get(link);
    assert.equal(page.status, 410);
    assert.match(page.text, /Send me a new link/);
  });

  it("a tampered or made-up token is refused", async () => {
    const { email } = await signedUpUser("reset-tampered");
    const link = await resetLink(email);
    const tampered = link.slice(0, -2) + (link.endsWith("AA") ? "BB" : "AA");
    for (const path of [tampered, "/reset?token=", "/reset?token=%3Cscript%3E", "/reset"]) {
      const page = await openBrowser(instanceA).get(path);
      assert.equal(page.status, 410, path);
      assert.doesNotMatch(page.html, /<script>/);
    }
  });

  it("a weak new password is refused and the link still works", async () => {
    const { email } = await signedUpUser("reset-weak");
    const link = await resetLink(email);
    const browser = openBrowser(instanceA);
    await browser.get(link);
    const token = new URLSearchParams(link.split("?")[1]).get("token") ?? "";
    const weak = await browser.post("/reset", { token, password: "qwerty123456" });
    assert.equal(weak.status, 422);
    assert.match(weak.text, /most common passwords/);
    assert.equal((await browser.post("/reset", { token, password: NEW_PASSWORD })).location, "/profile?reset=1");
  });
});
