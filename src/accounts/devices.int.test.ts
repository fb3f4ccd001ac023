import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { emailsTo, inboxMark, waitForEmail } from "../../scripts/lib/mailbox.js";
import { openBrowser } from "../test/browser.js";
import { instances, signedUpUser } from "../test/factories.js";
import { connectServices, stack, type Services } from "../test/support.js";
import { turnOnTwoFactor } from "../test/two-factor.js";
import { KnownDeviceModel } from "./devices.js";
import { UserModel } from "./user.model.js";

const [instanceA = "", instanceB = ""] = instances;
const FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
const CHROME_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";

/** Email and password on the sign-in page of `base`, from a new browser with `userAgent`. */
async function signInFrom(email: string, password: string, userAgent: string, base = instanceA) {
  const browser = openBrowser(base);
  await browser.get("/signin");
  const res = await browser.post("/signin", { email, password }, { "User-Agent": userAgent });
  return { browser, location: res.location };
}

const alertsTo = async (email: string) => (await emailsTo(stack.MAIL_URL, email)).filter((m) => /New sign-in/.test(m.subject));

describe("sign-in alerts and the sessions list", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("a browser the account has not used before gets the owner an email; the same browser again does not", async () => {
    const { browser, email, password } = await signedUpUser("alerts");
    const token = browser.cookie("__Host-duet.device") ?? "";
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, "the browser was given a device cookie");
    const user = await UserModel.findOne({ email }).lean();
    const known = await KnownDeviceModel.find({ userId: user?._id }).lean();
    assert.equal(known.length, 1);
    assert.doesNotMatch(JSON.stringify(known), new RegExp(token), "only its hash is stored");

    // The same browser signs out and in again (on the other instance): no alert.
    await browser.post("/signout", {});
    browser.useInstance(instanceB);
    await browser.get("/signin");
    assert.equal((await browser.post("/signin", { email, password }, { "User-Agent": FIREFOX_LINUX })).location, "/profile");

    // A new browser: an alert, with the time, the browser and the way to the sessions list.
    const since = await inboxMark(stack.MAIL_URL, email);
    assert.equal((await signInFrom(email, password, CHROME_WINDOWS)).location, "/profile");
    const mail = await waitForEmail(stack.MAIL_URL, email, { subject: /New sign-in to your Duet account/, since });
    assert.match(mail.text, /When: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(mail.text, /Browser: Chrome on Windows/);
    assert.match(mail.text, new RegExp(`${stack.APP_URL}/profile#sessions`));
    // Neither the sign-up nor the known browser's sign-in (both earlier) sent one.
    assert.equal((await alertsTo(email)).length, 1);
  });

  it("with two-factor on, the alert is sent once both factors passed, not after the password alone", async () => {
    const { browser, email, password } = await signedUpUser("alerts-2fa");
    const { app } = await turnOnTwoFactor(browser, password);
    const halfway = await signInFrom(email, password, FIREFOX_LINUX);
    assert.equal(halfway.location, "/signin/two-factor");

    const full = await signInFrom(email, password, SAFARI_IPHONE, instanceB);
    await full.browser.get("/signin/two-factor");
    assert.equal(
      (await full.browser.post("/signin/two-factor", { code: await app.code(1) }, { "User-Agent": SAFARI_IPHONE })).location,
      "/profile",
    );
    await waitForEmail(stack.MAIL_URL, email, { subject: /New sign-in/ });
    const alerts = await alertsTo(email);
    assert.equal(alerts.length, 1);
    assert.match(alerts[0]?.text ?? "", /Browser: Safari on iPhone/);
  });

  it("lists each session's browser, when it was first seen and last active, marks this one, and signs one out", async () => {
    const { browser, email, password } = await signedUpUser("sessions-list");
    const other = await signInFrom(email, password, CHROME_WINDOWS, instanceB);
    const page = await browser.get("/profile");
    const items = [...page.html.matchAll(/<li class="session-item">([\s\S]*?)<\/li>/g)].map((m) => m[1] ?? "");
    assert.equal(items.length, 2);
    assert.equal(items.filter((i) => /This device/.test(i)).length, 1);
    assert.ok(items.some((i) => /Chrome on Windows/.test(i) && !/This device/.test(i)));
    for (const item of items) {
      assert.match(item, /Browser first seen \d{4}-\d\d-\d\d \d\d:\d\d UTC · signed in .* UTC · last active .* UTC/);
    }

    const handle = /action="\/profile\/sessions\/([A-Za-z0-9_-]+)\/revoke"/.exec(page.html)?.[1] ?? "";
    assert.equal((await browser.post(`/profile/sessions/${handle}/revoke`, {})).location, "/profile?revoked=1#sessions");
    assert.match((await other.browser.get("/profile")).location ?? "", /^\/signin/);
    assert.match((await browser.get("/profile")).text, /This device/);
  });
});
