import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { codeIn, inboxMark, linkIn, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { openBrowser, type Page, type TestBrowser } from "../test/browser.js";
import { instances, signedUpUser } from "../test/factories.js";
import { connectServices, stack, type Services } from "../test/support.js";
import { hashPassword } from "./passwords.js";
import { UserModel } from "./user.model.js";

const [instanceA = "", instanceB = ""] = instances;

/** Asks to move `browser`'s account to `target` and confirms with the emailed code. */
async function changeEmail(browser: TestBrowser, password: string, target: string): Promise<void> {
  const since = await inboxMark(stack.MAIL_URL, target);
  const started = await browser.post("/profile/email", { email: target, currentPassword: password });
  assert.equal(started.location, `/profile?verifyEmail=${encodeURIComponent(target)}#email`);
  const code = codeIn(await waitForEmail(stack.MAIL_URL, target, { subject: /Confirm your new Duet email/, since }));
  await browser.get(`/profile?verifyEmail=${encodeURIComponent(target)}`);
  assert.equal((await browser.post("/profile/email/verify", { pendingEmail: target, code })).location, "/profile?email=1");
}

/** What the email form answered: status, where it led, and the message under each of its fields. */
const answer = (page: Page) =>
  [
    page.status,
    page.location?.replace(/verifyEmail=[^#&]+/, "verifyEmail=ADDRESS") ?? "",
    ...["email-new", "email-password"].map((id) =>
      (new RegExp(`id="${id}-error" role="alert">([^<]*)<`).exec(page.html)?.[1] ?? "").replace(/\d+ seconds/, "N seconds"),
    ),
  ].join("|");

describe("changing the email address", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("the form answers the same whether or not the new address has an account, even right after another request", async () => {
    const { email: taken } = await signedUpUser("already-here");
    const unverified = uniqueEmail("half-made");
    await UserModel.create({
      email: unverified,
      displayName: "Half",
      passwordHash: await hashPassword("an old unverified pass"),
    });
    const answers = new Map<string, string[]>();
    for (const [label, first] of [
      ["free", uniqueEmail("free-first")],
      ["taken", taken],
      ["unverified", unverified],
    ] as const) {
      const { browser, password } = await signedUpUser("asker");
      const pages = [
        await browser.post("/profile/email", { email: first, currentPassword: password }),
        await browser.post("/profile/email", { email: uniqueEmail("free-second"), currentPassword: password }),
        await browser.post("/profile/email", { email: taken, currentPassword: password }),
      ];
      answers.set(label, pages.map(answer));
    }
    assert.deepEqual(answers.get("taken"), answers.get("free"));
    assert.deepEqual(answers.get("unverified"), answers.get("free"));
    assert.deepEqual(answers.get("free"), [
      "302|/profile?verifyEmail=ADDRESS#email||",
      "422||Wait N seconds before asking for another code.|",
      "422||Wait N seconds before asking for another code.|",
    ]);
  });

  it("the old address is told what the new one is and when it changed, with a link to the sessions", async () => {
    const { browser, email: old, password } = await signedUpUser("notify-old");
    const target = uniqueEmail("notify-new");
    const since = await inboxMark(stack.MAIL_URL, old);
    await changeEmail(browser, password, target);
    const mail = await waitForEmail(stack.MAIL_URL, old, { subject: /Your Duet email address was changed/, since });
    assert.match(mail.text, new RegExp(target.replace(/[.+]/g, "\\$&")));
    assert.match(mail.text, /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    assert.match(linkIn(mail, "/profile"), /\/profile#sessions$/);
    assert.match(mail.html, new RegExp(target.replace(/[.+]/g, "\\$&")));
  });

  it("every other session of the account is signed out; this one stays", async () => {
    const { browser, email, password } = await signedUpUser("change-sessions");
    const phone = openBrowser(instanceB);
    await phone.get("/signin");
    assert.equal((await phone.post("/signin", { email, password })).location, "/profile");
    await changeEmail(browser, password, uniqueEmail("change-sessions-new"));
    assert.equal((await phone.get("/profile")).status, 302, "the other device is signed out");
    assert.equal((await browser.get("/profile")).status, 200, "this device stays signed in");
    assert.match((await browser.get("/profile?email=1")).text, /every other device was signed out/);
  });

  it("password-reset links sent to the old address stop working", async () => {
    const { browser, email, password } = await signedUpUser("change-reset");
    const since = await inboxMark(stack.MAIL_URL, email);
    const asker = openBrowser(instanceA);
    await asker.get("/forgot");
    await asker.post("/forgot", { email });
    const link = new URL(
      linkIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Reset your Duet password/, since }), "/reset?token="),
    );
    assert.equal((await openBrowser(instanceA).get(link.pathname + link.search)).status, 200, "the link works before the change");

    await changeEmail(browser, password, uniqueEmail("change-reset-new"));
    const after = openBrowser(instanceB);
    assert.equal((await after.get(link.pathname + link.search)).status, 410);
    await after.get("/forgot");
    const used = await after.post("/reset", { token: link.searchParams.get("token") ?? "", password: "a brand new passphrase" });
    assert.equal(used.status, 410);
  });
});
