import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import { inboxMark, linkIn, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { stackSettings } from "../../scripts/lib/settings.js";
import { startOne, stopOne } from "../../scripts/lib/stack.js";
import { AvatarModel } from "../accounts/avatars.js";
import { UserModel } from "../accounts/user.model.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { instances, signedUpUser } from "../test/factories.js";
import { continueWithGoogle, returnToApp, signInAtProvider } from "../test/google.js";
import { passkeyDevice } from "../test/passkey-device.js";
import { turnOnTwoFactor } from "../test/two-factor.js";
import { buildApp, connectServices, stack, type Services } from "../test/support.js";

const [instanceA = "", instanceB = ""] = instances;
const NEW_PASSWORD = "harbour lantern drifts slowly";

async function signInWithPassword(email: string, password: string): Promise<number> {
  const browser = openBrowser(instanceB);
  await browser.get("/signin");
  return (await browser.post("/signin", { email, password })).status;
}

async function setPasswordByEmail(email: string): Promise<TestBrowser> {
  const since = await inboxMark(stack.MAIL_URL, email);
  const browser = openBrowser(instanceA);
  await browser.get("/forgot");
  await browser.post("/forgot", { email });
  const mail = await waitForEmail(stack.MAIL_URL, email, { subject: /Reset your Duet password/, since });
  const link = new URL(linkIn(mail, "/reset?token="));
  await browser.get(link.pathname + link.search);
  const done = await browser.post("/reset", { token: link.searchParams.get("token") ?? "", password: NEW_PASSWORD });
  assert.equal(done.location, "/profile?reset=1");
  return browser;
}

describe("sign in with Google against the stack's OpenID provider", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  describe("accounts", () => {
    it("a first Google sign-in creates a verified account with the name and picture from the claims", async () => {
      const email = uniqueEmail("g-new");
      const browser = openBrowser(instanceA);
      const done = await continueWithGoogle(browser, { email, name: "Grace Hopper" });
      assert.equal(done.location, "/profile?googleWelcome=1");
      const profile = await browser.get("/profile?googleWelcome=1");
      assert.match(profile.text, /Grace Hopper/);
      assert.match(profile.text, /You're signed in with Google/);
      assert.match(profile.text, /set a password by email/, "no password yet: offered by email");

      const user = await UserModel.findOne({ email }).lean();
      assert.ok(user?.googleSub);
      assert.equal(user.emailVerified, true);
      assert.equal(user.passwordHash, undefined);
      assert.equal(user.avatarVersion, 1, "the provider's picture became the avatar");
      assert.ok(await AvatarModel.exists({ userId: user._id }));
    });

    it("the same Google account signs into the same user on either instance, even after its email changed", async () => {
      const sub = `sub-${uniqueEmail("s")}`;
      const first = await continueWithGoogle(openBrowser(instanceA), { sub, email: uniqueEmail("g-first") });
      assert.equal(first.location, "/profile?googleWelcome=1");
      const browser = openBrowser(instanceB);
      const again = await continueWithGoogle(browser, { sub, email: uniqueEmail("g-renamed") });
      assert.equal(again.location, "/profile");
      assert.equal(await UserModel.countDocuments({ googleSub: sub }), 1);
      assert.equal((await browser.get("/profile")).status, 200);
    });

    it("a verified local account with the same email is linked only after its password is given", async () => {
      const { email, password } = await signedUpUser("g-local");
      const browser = openBrowser(instanceA);
      const done = await continueWithGoogle(browser, { email });
      assert.equal(done.location, "/auth/google/link");
      assert.equal((await browser.get("/profile")).status, 302, "not signed in yet");
      assert.equal((await UserModel.findOne({ email }).lean())?.googleSub, undefined, "not linked yet");

      const page = await browser.get("/auth/google/link");
      assert.match(page.text, new RegExp(`You already have a Duet account for ${email}`));
      const wrong = await browser.post("/auth/google/link", { password: "not my password at all" });
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /That isn't the password of your Duet account/);
      assert.equal((await UserModel.findOne({ email }).lean())?.googleSub, undefined);

      const linked = await browser.post("/auth/google/link", { password });
      assert.equal(linked.location, "/profile?googleLinked=1#google");
      assert.match((await browser.get("/profile?googleLinked=1")).text, /Your Google account is linked/);
      assert.ok((await UserModel.findOne({ email }).lean())?.googleSub);

      // Both ways in work from now on.
      assert.equal(await signInWithPassword(email, password), 302);
      assert.equal((await continueWithGoogle(openBrowser(instanceB), { email })).location, "/profile");
    });

    it("with two-factor on, linking by password still asks for the code (or a passkey) and links nothing before it", async () => {
      const { browser: owner, email, password } = await signedUpUser("g-local-2fa");
      const { app } = await turnOnTwoFactor(owner, password);
      const device = passkeyDevice();
      await owner.get("/profile/passkeys");
      const regOptions = (await owner.postJson("/profile/passkeys/options", {})).json.options as { challenge: string };
      assert.equal((await owner.postJson("/profile/passkeys", { response: device.register(regOptions) })).status, 200);

      // Someone with the password but not the phone: half signed in, and the account unchanged.
      const intruder = openBrowser(instanceA);
      assert.equal((await continueWithGoogle(intruder, { email })).location, "/auth/google/link");
      await intruder.get("/auth/google/link");
      assert.equal((await intruder.post("/auth/google/link", { password })).location, "/signin/two-factor");
      assert.match((await intruder.get("/profile")).location ?? "", /^\/signin/);
      assert.equal((await UserModel.findOne({ email }).lean())?.googleSub, undefined, "nothing linked without the code");
      assert.equal((await continueWithGoogle(openBrowser(instanceB), { email })).location, "/auth/google/link");

      // The owner gives the code: linked and signed in.
      const browser = openBrowser(instanceB);
      await continueWithGoogle(browser, { email, sub: `sub-${email}` });
      await browser.get("/auth/google/link");
      assert.equal((await browser.post("/auth/google/link", { password })).location, "/signin/two-factor");
      await browser.get("/signin/two-factor");
      const done = await browser.post("/signin/two-factor", { code: await app.code(1) });
      assert.equal(done.location, "/profile?googleLinked=1#google");
      assert.equal((await UserModel.findOne({ email }).lean())?.googleSub, `sub-${email}`);

      // From now on Google is a first factor: the code or a passkey still follows it.
      const again = openBrowser(instanceA);
      assert.equal((await continueWithGoogle(again, { email, sub: `sub-${email}` })).location, "/signin/two-factor");
      await again.get("/signin/two-factor");
      const options = (await again.postJson("/signin/two-factor/passkey/options", {})).json.options as { challenge: string };
      const viaPasskey = await again.postJson("/signin/two-factor/passkey", { response: device.authenticate(options) });
      assert.equal(viaPasskey.json.redirect, "/profile", viaPasskey.html);
      assert.equal((await again.get("/profile")).status, 200);
    });

    it("a signed-in user links Google from the profile and unlinks it again", async () => {
      const { browser, email, password } = await signedUpUser("g-profile");
      assert.match((await browser.get("/profile")).text, /Link Google account/);
      const done = await continueWithGoogle(browser, { email: uniqueEmail("g-other-address") });
      assert.equal(done.location, "/profile?googleLinked=1#google");
      assert.ok((await UserModel.findOne({ email }).lean())?.googleSub);

      const unlinked = await browser.post("/profile/google/unlink", {});
      assert.equal(unlinked.location, "/profile?googleUnlinked=1#google");
      assert.equal((await UserModel.findOne({ email }).lean())?.googleSub, undefined);
      assert.equal(await signInWithPassword(email, password), 302, "the password still works");
    });

    it("a Google account already linked to someone else is not linked a second time", async () => {
      const sub = `sub-${uniqueEmail("taken")}`;
      await continueWithGoogle(openBrowser(instanceA), { sub });
      const { browser, email } = await signedUpUser("g-taken");
      const done = await continueWithGoogle(browser, { sub });
      assert.equal(done.status, 409);
      assert.match(done.text, /already linked to another Duet account/);
      assert.equal((await UserModel.findOne({ email }).lean())?.googleSub, undefined);
    });

    it("a Google-only account sets a password through the reset flow, and only then can unlink", async () => {
      const email = uniqueEmail("g-only");
      const browser = openBrowser(instanceA);
      await continueWithGoogle(browser, { email });
      const profile = await browser.get("/profile");
      assert.match(profile.text, /can't be unlinked until you set a password/);
      await browser.post("/profile/google/unlink", {});
      assert.ok((await UserModel.findOne({ email }).lean())?.googleSub, "unlinking without a password does nothing");

      const resetBrowser = await setPasswordByEmail(email);
      assert.equal(await signInWithPassword(email, NEW_PASSWORD), 302);
      await resetBrowser.get("/profile");
      assert.equal((await resetBrowser.post("/profile/google/unlink", {})).location, "/profile?googleUnlinked=1#google");
    });

    it("an unconfirmed sign-up with the same email does not keep its password: Google proves the address", async () => {
      const email = uniqueEmail("g-squatter");
      const squatter = openBrowser(instanceA);
      await squatter.get("/signup");
      await squatter.post("/signup", { email, displayName: "Squatter", password: "squatter chose this one" });
      const done = await continueWithGoogle(openBrowser(instanceB), { email, name: "Real Owner" });
      assert.equal(done.location, "/profile?googleWelcome=1");
      const user = await UserModel.findOne({ email }).lean();
      assert.equal(user?.displayName, "Real Owner");
      assert.equal(user.passwordHash, undefined);
      assert.equal(await signInWithPassword(email, "squatter chose this one"), 401);
    });
  });

  describe("refusals end on a clear page and create nothing", () => {
    async function refused(page: { status: number; text: string }, status: number, text: RegExp, email: string) {
      assert.equal(page.status, status, page.text.slice(0, 300));
      assert.match(page.text, text);
      assert.match(page.text, /Sign in another way/, "with a way back");
      assert.equal(await UserModel.exists({ email }), null, "no account was created");
    }

    it("cancelled consent", async () => {
      const email = uniqueEmail("g-cancel");
      const page = await continueWithGoogle(openBrowser(instanceA), { email, cancel: true });
      await refused(page, 200, /You cancelled signing in with Google/, email);
    });

    it("an unverified Google email", async () => {
      const email = uniqueEmail("g-unverified");
      const page = await continueWithGoogle(openBrowser(instanceA), { email, emailVerified: false });
      await refused(page, 403, /Your Google email isn't verified/, email);
    });

    it("an ID token for another audience", async () => {
      const email = uniqueEmail("g-aud");
      const page = await continueWithGoogle(openBrowser(instanceA), { email, quirk: "wrong-audience" });
      await refused(page, 400, /Google's answer could not be verified/, email);
    });

    it("an expired ID token", async () => {
      const email = uniqueEmail("g-expired");
      const page = await continueWithGoogle(openBrowser(instanceA), { email, quirk: "expired" });
      await refused(page, 400, /Google's answer could not be verified/, email);
    });

    it("a state that does not match this browser's sign-in", async () => {
      const email = uniqueEmail("g-state");
      const browser = openBrowser(instanceA);
      const callback = new URL(await signInAtProvider(browser, { email }), stack.APP_URL);
      callback.searchParams.set("state", "0".repeat(40));
      await refused(await returnToApp(browser, callback.pathname + callback.search), 400, /This sign-in didn't match/, email);
    });

    it("a callback in a browser that never started a sign-in (forged, or the victim's link)", async () => {
      const email = uniqueEmail("g-forged");
      const callback = await signInAtProvider(openBrowser(instanceA), { email });
      await refused(await returnToApp(openBrowser(instanceA), callback), 400, /This sign-in has expired/, email);
    });

    it("a callback replayed after it was used", async () => {
      const email = uniqueEmail("g-replay");
      const browser = openBrowser(instanceA);
      const callback = await signInAtProvider(browser, { email });
      assert.equal((await returnToApp(browser, callback)).location, "/profile?googleWelcome=1");
      await browser.post("/signout", {});
      const replay = await returnToApp(browser, callback);
      assert.equal(replay.status, 400);
      assert.match(replay.text, /This sign-in has expired/);
      assert.equal(await UserModel.countDocuments({ email }), 1);
    });

    it("a used code replayed into another pending sign-in is refused by the provider", async () => {
      const first = openBrowser(instanceA);
      const used = new URL(await signInAtProvider(first, { email: uniqueEmail("g-code-1") }), stack.APP_URL);
      await returnToApp(first, used.pathname + used.search);

      const email = uniqueEmail("g-code-2");
      const second = openBrowser(instanceB);
      const own = new URL(await signInAtProvider(second, { email }), stack.APP_URL);
      own.searchParams.set("code", used.searchParams.get("code") ?? "");
      await refused(await returnToApp(second, own.pathname + own.search), 400, /This sign-in has expired/, email);
    });
  });

  describe("when the provider is down", () => {
    const settings = stackSettings();
    after(() => startOne(settings, "oidc"));

    it("the sign-in ends on a clear page, nothing is created, and it works again once the provider is back", async () => {
      const email = uniqueEmail("g-down");
      const browser = openBrowser(instanceA);
      const callback = await signInAtProvider(browser, { email });
      await stopOne(settings, "oidc");
      const page = await returnToApp(browser, callback);
      assert.equal(page.status, 502);
      assert.match(page.text, /Google didn't answer/);
      assert.match(page.text, /Try Google again/);
      assert.equal(await UserModel.exists({ email }), null);

      await startOne(settings, "oidc");
      assert.equal((await continueWithGoogle(browser, { email })).location, "/profile?googleWelcome=1");
    });
  });

  describe("without Google configured", () => {
    it("no button is shown and every Google route answers 404", async () => {
      const app = buildApp(services);
      const agent = request(app.callback());
      for (const path of ["/auth/google", "/auth/google/callback?code=x&state=y", "/auth/google/done", "/auth/google/link"]) {
        assert.equal((await agent.get(path).set("Accept", "text/html")).status, 404, path);
      }
      const signin = await agent.get("/signin");
      assert.equal(signin.status, 200);
      assert.doesNotMatch(signin.text, /Continue with Google/);
      // The stack's instances do have Google configured.
      assert.match((await openBrowser(instanceA).get("/signin")).text, /Continue with Google/);
    });
  });
});
