import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { inboxMark, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { sessionHandle } from "../http/session-store.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { instances, signedUpUser } from "../test/factories.js";
import { continueWithGoogle } from "../test/google.js";
import { passkeyDevice, type PasskeyDevice } from "../test/passkey-device.js";
import { connectServices, stack, type Services } from "../test/support.js";
import { turnOnTwoFactor } from "../test/two-factor.js";
import { PasskeyModel } from "./passkeys.js";
import { UserModel } from "./user.model.js";

const [instanceA = "", instanceB = ""] = instances;

type Options = { challenge: string; rp?: { id: string }; rpId?: string; user?: { id: string } };

/** Asks for options on `path`/options; fails the test unless they come. */
async function optionsFrom(browser: TestBrowser, path: string, body: Record<string, string> = {}): Promise<Options> {
  const res = await browser.postJson(`${path}/options`, body);
  assert.equal(res.status, 200, `options from ${path}: ${res.status} ${res.html.slice(0, 300)}`);
  return res.json.options as Options;
}

/** Adds a passkey from the profile (`password`: typed to re-authenticate, or undefined if this session just did). */
async function addPasskey(browser: TestBrowser, device: PasskeyDevice, password: string | undefined, name = "") {
  await browser.get("/profile/passkeys");
  const options = await optionsFrom(browser, "/profile/passkeys", password ? { currentPassword: password } : {});
  const added = await browser.postJson("/profile/passkeys", { response: device.register(options), name });
  assert.equal(added.status, 200, added.html);
  assert.equal(added.json.redirect, "/profile/passkeys?added=1");
}

/** Signs in with a passkey alone in a new browser on `instance`; returns the browser and the answer. */
async function passkeySignIn(
  device: PasskeyDevice,
  instance = instanceA,
  choose: Parameters<PasskeyDevice["authenticate"]>[1] = {},
) {
  const browser = openBrowser(instance);
  await browser.get("/signin");
  const options = await optionsFrom(browser, "/signin/passkey");
  const res = await browser.postJson("/signin/passkey", { response: device.authenticate(options, choose), next: "/chat" });
  return { browser, res };
}

const signedIn = async (browser: TestBrowser) => (await browser.get("/profile")).status === 200;

describe("passkeys", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  /** The stored session of `browser`, to age what it holds as if time had passed. */
  async function editSession(browser: TestBrowser, edit: (data: Record<string, { until: number } | number | undefined>) => void) {
    const id = decodeURIComponent(browser.cookie("__Host-duet.sid") ?? "");
    const key = `duet:sess:${sessionHandle(id)}`;
    const data = JSON.parse((await services.redis.get(key)) ?? "{}") as Record<string, { until: number } | number | undefined>;
    edit(data);
    await services.redis.set(key, JSON.stringify(data), "PX", await services.redis.pttl(key));
  }

  it("is added after re-authentication and then signs in alone, across instances, in place of a two-factor code", async () => {
    const { browser, email, password } = await signedUpUser("pk-add");
    const device = passkeyDevice();
    await browser.get("/profile/passkeys");
    const bare = await browser.postJson("/profile/passkeys/options", {});
    assert.equal(bare.status, 422);
    assert.equal(bare.json.error, "Enter your current password.");
    const wrong = await browser.postJson("/profile/passkeys/options", { currentPassword: "not my password at all" });
    assert.equal(wrong.json.error, "That isn't your current password.");
    // An answer without options of this session's own is refused.
    const unasked = await browser.postJson("/profile/passkeys", { response: device.register({ challenge: "AAAA" }) });
    assert.equal(unasked.status, 422);
    assert.equal(await PasskeyModel.countDocuments({ _id: device.passkeys[0]?.id }), 0);

    const since = await inboxMark(stack.MAIL_URL, email);
    await addPasskey(browser, device, password, "Work laptop");
    const told = await waitForEmail(stack.MAIL_URL, email, { subject: /A passkey was added to your Duet account/, since });
    assert.match(told.text, /a passkey named "Work laptop" was added/);
    const page = await browser.get("/profile/passkeys?added=1");
    assert.match(page.text, /Your passkey was added/);
    assert.match(page.text, /Work laptop/);
    await turnOnTwoFactor(browser, password);

    // Options from one instance, the answer to the other: the challenge lives in the session (Redis).
    const fresh = openBrowser(instanceA);
    await fresh.get("/signin");
    assert.match((await fresh.get("/signin")).html, /Sign in with a passkey/);
    const options = await optionsFrom(fresh, "/signin/passkey");
    // The relying party is the configured public URL's, not the address this request was sent to.
    assert.equal(options.rpId, new URL(stack.APP_URL).hostname);
    assert.notEqual(new URL(instanceA).host, new URL(stack.APP_URL).host);
    fresh.useInstance(instanceB);
    const done = await fresh.postJson("/signin/passkey", { response: device.authenticate(options), next: "/chat" });
    assert.equal(done.status, 200, done.html);
    assert.equal(done.json.redirect, "/chat");
    assert.ok(await signedIn(fresh), "signed in without the two-factor code: the passkey verified its user");

    // After the password, a passkey also stands in for the code.
    const second = openBrowser(instanceB);
    await second.get("/signin");
    assert.equal((await second.post("/signin", { email, password })).location, "/signin/two-factor");
    assert.match((await second.get("/signin/two-factor")).html, /Use a passkey instead/);
    const tfOptions = await optionsFrom(second, "/signin/two-factor/passkey");
    const tf = await second.postJson("/signin/two-factor/passkey", { response: device.authenticate(tfOptions) });
    assert.equal(tf.json.redirect, "/profile", tf.html);
    assert.ok(await signedIn(second));
  });

  it("refuses bad answers with a clear message, signs nobody in and leaves the passkey as it was", async () => {
    const { browser, password } = await signedUpUser("pk-bad");
    const device = passkeyDevice();
    await addPasskey(browser, device, password);
    const [passkey] = device.passkeys;
    assert.ok(passkey);
    const stored = async () => (await PasskeyModel.findById(passkey.id).lean())?.counter;
    assert.equal((await passkeySignIn(device)).res.status, 200);
    const counterBefore = await stored();

    const attempt = async (answer: (options: Options) => unknown, prepare?: (b: TestBrowser) => Promise<void>) => {
      const tab = openBrowser(instanceA);
      await tab.get("/signin");
      const options = await optionsFrom(tab, "/signin/passkey");
      await prepare?.(tab);
      const res = await tab.postJson("/signin/passkey", { response: answer(options) });
      assert.equal(await signedIn(tab), false, "nobody is signed in");
      return res;
    };
    const malformed = await attempt(() => ({ id: "not a credential", response: "garbage" }));
    assert.equal(malformed.status, 422);
    assert.equal(malformed.json.error, "That passkey answer isn't valid. Try again.");
    const otherChallenge = await attempt((o) => device.authenticate({ ...o, challenge: "b3RoZXItY2hhbGxlbmdl" }));
    assert.equal(otherChallenge.json.error, "That passkey answer isn't valid. Try again.");
    const otherSite = await attempt((o) => device.authenticate(o, { origin: "https://duet.example.net" }));
    assert.equal(otherSite.status, 422);
    const unverified = await attempt((o) => device.authenticate(o, { userVerified: false }));
    assert.equal(unverified.status, 422);
    const unknown = await attempt((o) => {
      const stranger = passkeyDevice();
      stranger.register({ challenge: "AAAA", user: { id: passkey.userHandle } });
      return stranger.authenticate(o);
    });
    assert.match(String(unknown.json.error), /isn't registered with Duet/);
    const backwards = await attempt((o) => device.authenticate(o, { counter: 1 }));
    assert.match(String(backwards.json.error), /signature counter went backwards/);
    const expired = await attempt(
      (o) => device.authenticate(o),
      (tab) =>
        editSession(tab, (data) => {
          const challenge = data.passkeyChallenge as { until: number };
          challenge.until = Date.now() - 1;
        }),
    );
    assert.equal(expired.status, 410);
    assert.equal(expired.json.error, "That passkey request expired or was already used. Try again.");
    assert.equal(await stored(), counterBefore, "no refused answer moved the counter");

    // Single use: the same answer twice in one session, and twice at once on both instances.
    const tab = openBrowser(instanceA);
    await tab.get("/signin");
    const once = device.authenticate(await optionsFrom(tab, "/signin/passkey"));
    assert.equal((await tab.postJson("/signin/passkey", { response: once })).status, 200);
    await tab.get("/profile");
    const replay = await tab.postJson("/signin/passkey", { response: once });
    assert.equal(replay.status, 410);

    const racer = openBrowser(instanceA);
    await racer.get("/signin");
    const raced = device.authenticate(await optionsFrom(racer, "/signin/passkey"));
    const twin = openBrowser(instanceB, racer.ip);
    twin.setCookie("__Host-duet.sid", racer.cookie("__Host-duet.sid") ?? "");
    twin.setCookie("__Host-duet.sid.sig", racer.cookie("__Host-duet.sid.sig") ?? "");
    twin.setCookie("__Host-duet.csrf", racer.cookie("__Host-duet.csrf") ?? "");
    await twin.get("/signin");
    const results = await Promise.all([
      racer.postJson("/signin/passkey", { response: raced }),
      twin.postJson("/signin/passkey", { response: raced }),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 410]);
  });

  it("confirms a sensitive change for an account without a password; another account's passkey is refused", async () => {
    const email = uniqueEmail("pk-google");
    const browser = openBrowser(instanceA);
    await continueWithGoogle(browser, { email });
    await continueWithGoogle(browser, { email, start: "/auth/google/reauth?next=/profile/passkeys" });
    const device = passkeyDevice();
    await addPasskey(browser, device, undefined);

    // Signing in (with the passkey) is not a proof for a sensitive change; confirming with it is.
    const { browser: tab } = await passkeySignIn(device, instanceB);
    await tab.get("/profile");
    const unconfirmed = await tab.post("/profile/email", { email: uniqueEmail("pk-google-new") });
    assert.equal(unconfirmed.status, 422);
    assert.match(unconfirmed.text, /Confirm it's you with a passkey first/);
    assert.match(unconfirmed.html, /Confirm with a passkey/);

    const stranger = await signedUpUser("pk-stranger");
    const strangerDevice = passkeyDevice();
    await addPasskey(stranger.browser, strangerDevice, stranger.password);
    const notTheirs = await tab.postJson("/reauth/passkey", {
      response: strangerDevice.authenticate(await optionsFrom(tab, "/reauth/passkey")),
    });
    assert.equal(notTheirs.status, 422);
    assert.equal(notTheirs.json.error, "That passkey belongs to a different account.");
    assert.equal((await tab.post("/profile/email", { email: uniqueEmail("pk-google-new") })).status, 422);

    const confirmed = await tab.postJson("/reauth/passkey", {
      response: device.authenticate(await optionsFrom(tab, "/reauth/passkey")),
    });
    assert.equal(confirmed.status, 200, confirmed.html);
    const changed = await tab.post("/profile/email", { email: uniqueEmail("pk-google-new") });
    assert.match(changed.location ?? "", /^\/profile\?verifyEmail=/);
  });

  it("renames and removes only the user's own passkeys; removing needs re-authentication; deleting the account removes them", async () => {
    const { browser, email, password } = await signedUpUser("pk-manage");
    const device = passkeyDevice();
    await addPasskey(browser, device, password, "Phone");
    await addPasskey(browser, device, undefined, "Laptop");
    const [phone, laptop] = device.passkeys;
    assert.ok(phone && laptop);

    await browser.get("/profile/passkeys");
    assert.equal(
      (await browser.post(`/profile/passkeys/${phone.id}/rename`, { name: "  Old phone\u0007 " })).location,
      "/profile/passkeys?renamed=1",
    );
    assert.equal((await PasskeyModel.findById(phone.id).lean())?.name, "Old phone");
    assert.match((await browser.post(`/profile/passkeys/${phone.id}/rename`, { name: "   " })).text, /Give the passkey a name/);

    const other = await signedUpUser("pk-other");
    await other.browser.get("/profile/passkeys");
    const foreign = await other.browser.post(`/profile/passkeys/${phone.id}/rename`, { name: "Mine now" });
    assert.equal(foreign.status, 404);
    assert.equal((await PasskeyModel.findById(phone.id).lean())?.name, "Old phone");
    const foreignRemove = await other.browser.post(`/profile/passkeys/${phone.id}/remove`, { currentPassword: other.password });
    assert.equal(foreignRemove.status, 404);

    // A session that has not confirmed lately (signed in with a passkey) must confirm first.
    const { browser: tab } = await passkeySignIn(device, instanceB, { passkey: laptop });
    await tab.get("/profile/passkeys");
    const unconfirmed = await tab.post(`/profile/passkeys/${phone.id}/remove`, {});
    assert.equal(unconfirmed.status, 422);
    assert.match(unconfirmed.text, /Enter your current password/);
    assert.equal(
      (await tab.post(`/profile/passkeys/${phone.id}/remove`, { currentPassword: password })).location,
      "/profile/passkeys?removed=1",
    );
    const removed = await passkeySignIn(device, instanceA, { passkey: phone });
    assert.match(String(removed.res.json.error), /isn't registered with Duet/);

    const user = await UserModel.findOne({ email }).lean();
    assert.ok(user);
    await browser.get("/profile");
    assert.equal((await browser.post("/profile/delete", { currentPassword: password })).location, "/signin?deleted=1");
    assert.equal(await PasskeyModel.countDocuments({ userId: user._id }), 0);
  });
});
