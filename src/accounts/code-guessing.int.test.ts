import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeIn, inboxMark, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { instances, PASSWORD, signedUpUser } from "../test/factories.js";
import { codesSentEarlier, connectServices, stack, type Services } from "../test/support.js";
import { UserModel } from "./user.model.js";

const [instanceA = "", instanceB = ""] = instances;
const CAP_MESSAGE = /Too many wrong codes for this address\. Try again in 60 minutes\./;

const otherThan = (code: string) => (code === "000000" ? "111111" : "000000");

async function signUpWithCode(email: string, base: string): Promise<{ browser: TestBrowser; code: string }> {
  const browser = openBrowser(base);
  await browser.get("/signup");
  const sent = await inboxMark(stack.MAIL_URL, email);
  assert.equal(
    (await browser.post("/signup", { email, displayName: "Guess Target", password: PASSWORD })).location,
    "/signup/verify",
  );
  await browser.get("/signup/verify");
  const code = codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent }));
  return { browser, code };
}

/** Asks for a new sign-up code once the cooldown has passed; returns the new code. */
async function resend(browser: TestBrowser, email: string): Promise<string> {
  await codesSentEarlier(email, 61_000);
  const since = await inboxMark(stack.MAIL_URL, email);
  assert.equal((await browser.post("/signup/resend", {})).location, "/signup/verify?resent=1");
  await browser.get("/signup/verify");
  return codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since }));
}

describe("codes cannot be guessed by asking for new ones", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("wrong sign-up codes are capped per address across resends and new sign-ups, on every instance", async () => {
    const email = uniqueEmail("guessed");
    const { browser } = await signUpWithCode(email, instanceA);
    for (let round = 0; round < 2; round++) {
      const wrong = otherThan(await resend(browser, email));
      for (let i = 0; i < 5; i++) assert.equal((await browser.post("/signup/verify", { code: wrong })).status, 422);
    }
    const code = await resend(browser, email);
    const capped = await browser.post("/signup/verify", { code });
    assert.equal(capped.status, 429, "after 10 wrong codes in an hour even the right one waits");
    assert.match(capped.text, CAP_MESSAGE);

    // A fresh sign-up for the same address, from elsewhere, is under the same cap.
    const again = await signUpWithCode(email, instanceB);
    const refused = await again.browser.post("/signup/verify", { code: again.code });
    assert.equal(refused.status, 429);
    assert.match(refused.text, CAP_MESSAGE);
    assert.equal(await UserModel.countDocuments({ email, emailVerified: true }), 0);
  });

  it("wrong email-change codes are capped per account across new requests", async () => {
    const { browser, email, password } = await signedUpUser("guess-change");
    const userId = String((await UserModel.findOne({ email }).lean())?._id);
    const target = uniqueEmail("guess-target");
    const request = async () => {
      // A minute (and the password-check window) passes between requests: only the code cap remains.
      await codesSentEarlier(target, 61_000);
      await services.redis.del(`duet:rl:email-change-send:${userId}`, `duet:rl:password-check:${userId}`);
      const since = await inboxMark(stack.MAIL_URL, target);
      assert.match(
        (await browser.post("/profile/email", { email: target, currentPassword: password })).location ?? "",
        /verifyEmail/,
      );
      return codeIn(await waitForEmail(stack.MAIL_URL, target, { subject: /Confirm your new Duet email/, since }));
    };
    for (let round = 0; round < 2; round++) {
      const wrong = otherThan(await request());
      for (let i = 0; i < 5; i++) {
        assert.equal((await browser.post("/profile/email/verify", { pendingEmail: target, code: wrong })).status, 422);
      }
    }
    const code = await request();
    await services.redis.del(`duet:rl:password-check:${userId}`);
    const capped = await browser.post("/profile/email/verify", { pendingEmail: target, code });
    assert.equal(capped.status, 429);
    assert.match(capped.text, /Too many wrong codes\. Try again in 60 minutes\./);
    assert.equal((await UserModel.findById(userId).lean())?.email, email, "the email did not change");
  });
});
