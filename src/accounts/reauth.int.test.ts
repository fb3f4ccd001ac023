import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { uniqueEmail } from "../../scripts/lib/mailbox.js";
import { sessionHandle } from "../http/session-store.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { instances, signedUpUser } from "../test/factories.js";
import { continueWithGoogle } from "../test/google.js";
import { connectServices, type Services } from "../test/support.js";
import { UserModel } from "./user.model.js";

const [instanceA = "", instanceB = ""] = instances;
const NEW_PASSWORD = "copper kettle hums at noon";

describe("re-authentication before sensitive changes", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  /** Moves this browser's last proof of identity `ms` into the past, as if that time had passed. */
  async function proofAgedBy(browser: TestBrowser, ms: number) {
    const id = decodeURIComponent(browser.cookie("__Host-duet.sid") ?? "");
    const key = `duet:sess:${sessionHandle(id)}`;
    const data = JSON.parse((await services.redis.get(key)) ?? "{}") as { reauthAt?: number };
    assert.ok(data.reauthAt, "the session holds a proof");
    data.reauthAt -= ms;
    await services.redis.set(key, JSON.stringify(data), "PX", await services.redis.pttl(key));
  }

  it("a typed password counts for ten minutes, in that session only; a wrong one never does", async () => {
    const { browser, email, password } = await signedUpUser("reauth-window");
    const other = openBrowser(instanceB);
    await other.get("/signin");
    assert.equal((await other.post("/signin", { email, password })).location, "/profile");

    await browser.get("/profile");
    const bare = await browser.post("/profile/email", { email: uniqueEmail("reauth-new") });
    assert.equal(bare.status, 422);
    assert.match(bare.text, /Enter your current password/);
    assert.match(
      (await browser.post("/profile/email", { email: uniqueEmail("reauth-new"), currentPassword: password })).location ?? "",
      /verifyEmail/,
    );

    // Within ten minutes this session is not asked again, and the page says so.
    assert.match((await browser.get("/profile")).text, /You confirmed it's you in the last 10 minutes/);
    assert.equal((await browser.post("/profile/two-factor/setup", {})).location, "/profile/two-factor#setup");
    // A wrong password typed anyway is still refused.
    await browser.get("/profile");
    const wrong = await browser.post("/profile/password", {
      currentPassword: "not the password at all",
      newPassword: NEW_PASSWORD,
    });
    assert.match(wrong.text, /That isn't your current password/);
    // Another session of the same account has proved nothing.
    await other.get("/profile");
    assert.match((await other.post("/profile/delete", {})).text, /Enter your current password/);

    await proofAgedBy(browser, 10 * 60_000 + 1000);
    await browser.get("/profile");
    const late = await browser.post("/profile/password", { newPassword: NEW_PASSWORD });
    assert.equal(late.status, 422);
    assert.match(late.text, /Enter your current password/);
    assert.ok(await UserModel.exists({ email }));
  });

  it("a Google-only account confirms with Google (asked to sign in again) to change its email, set a password or leave", async () => {
    const email = uniqueEmail("reauth-google");
    const browser = openBrowser(instanceA);
    await continueWithGoogle(browser, { email });
    const profile = await browser.get("/profile");
    assert.match(profile.html, /href="\/auth\/google\/reauth\?next=\/profile"/);
    for (const [path, form] of [
      ["/profile/email", { email: uniqueEmail("reauth-google-new") }],
      ["/profile/password", { newPassword: NEW_PASSWORD }],
      ["/profile/delete", {}],
    ] as const) {
      const res = await browser.post(path, form);
      assert.equal(res.status, 422, path);
      assert.match(res.text, /Confirm it's you with Google first/, path);
    }

    const start = await browser.get("/auth/google/reauth?next=/profile");
    assert.match(start.location ?? "", /[?&]prompt=login(&|$)/, "Google must ask for its password again");
    const back = await continueWithGoogle(browser, { email, start: "/auth/google/reauth?next=/profile" });
    assert.equal(back.location, "/profile");

    await browser.get("/profile");
    assert.match(
      (await browser.post("/profile/email", { email: uniqueEmail("reauth-google-new") })).location ?? "",
      /verifyEmail/,
    );
    assert.equal((await browser.post("/profile/password", { newPassword: NEW_PASSWORD })).location, "/profile?password=1");
    const withPassword = openBrowser(instanceB);
    await withPassword.get("/signin");
    assert.equal((await withPassword.post("/signin", { email, password: NEW_PASSWORD })).location, "/profile");
    await browser.get("/profile");
    assert.equal((await browser.post("/profile/delete", {})).location, "/signin?deleted=1");
    assert.equal(await UserModel.exists({ email }), null);
  });

  it("an account with a password and Google may confirm with either", async () => {
    const { browser, email } = await signedUpUser("reauth-both");
    await continueWithGoogle(browser, { email });
    const page = await browser.get("/profile");
    assert.match(page.text, /Or confirm it's you with Google instead/);
    assert.equal(await UserModel.exists({ email, googleSub: { $exists: true } }).then(Boolean), true);
    assert.match((await browser.post("/profile/delete", {})).text, /Enter your current password/);
    const back = await continueWithGoogle(browser, { email, start: "/auth/google/reauth?next=/profile" });
    assert.equal(back.location, "/profile");
    await browser.get("/profile");
    assert.equal((await browser.post("/profile/password", { newPassword: NEW_PASSWORD })).location, "/profile?password=1");
  });
});
