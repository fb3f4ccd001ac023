import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { uniqueEmail } from "../../scripts/lib/mailbox.js";
import { instances, signedUpUser } from "../test/factories.js";
import { connectServices, type Services } from "../test/support.js";

const [instanceA = "", instanceB = ""] = instances;

describe("starting a conversation by email", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("an address with an account opens the chat; one without offers an invitation", async () => {
    const alice = await signedUpUser("starter");
    const bob = await signedUpUser("startee");
    await alice.browser.get("/chat");
    const opened = await alice.browser.post("/chat/start", { email: bob.email.toUpperCase() });
    assert.match(opened.location ?? "", /^\/chat\/[A-Za-z0-9_-]{22}$/);
    const nobody = await alice.browser.post("/chat/start", { email: uniqueEmail("nobody") });
    assert.equal(nobody.status, 422);
    assert.match(nobody.text, /No account uses \S+ yet\. Invite them to join\?/);
  });

  it("an address left out or sent as a list is answered in the form's own words", async () => {
    // Found by scripts/attack (form fuzzing): the list showed the validator's "Invalid input:
    // expected string, received undefined" under the field.
    const alice = await signedUpUser("starter-typo");
    await alice.browser.get("/chat");
    const forms: Array<Record<string, string>> = [{}, { "email[]": "someone@example.test" }];
    for (const form of forms) {
      const res = await alice.browser.post("/chat/start", form);
      assert.equal(res.status, 422);
      assert.doesNotMatch(res.text, /Invalid input|expected \w+, received/);
      assert.match(res.text, /Enter their email address\./);
    }
  });

  it("an invitation to something that is not an address is refused on the form", async () => {
    // Found by scripts/attack (form fuzzing): it answered 302 to the list, as if nothing had been asked.
    const alice = await signedUpUser("inviter");
    await alice.browser.get("/chat");
    const res = await alice.browser.post("/chat/invite", { email: "not an address" });
    assert.equal(res.status, 422);
    assert.match(res.text, /Enter an email address like name@example\.com\./);
    assert.doesNotMatch(res.text, /Invitation sent/);
  });

  it("looking up addresses is limited per user across instances, with a clear message", async () => {
    const prober = await signedUpUser("prober");
    const { email: known } = await signedUpUser("known");
    await prober.browser.get("/chat");
    for (let i = 0; i < 20; i++) {
      prober.browser.useInstance(i % 2 === 0 ? instanceA : instanceB);
      const res = await prober.browser.post("/chat/start", { email: i % 5 === 0 ? known : uniqueEmail("probe") });
      assert.ok(res.status === 302 || res.status === 422, `lookup ${i + 1} answered ${res.status}`);
    }
    for (const email of [known, uniqueEmail("probe")]) {
      const limited = await prober.browser.post("/chat/start", { email });
      assert.equal(limited.status, 429, "the 21st lookup in an hour is refused, whatever the address");
      assert.match(limited.text, /You've looked up 20 addresses in the last hour\. Try again in 60 minutes\./);
      assert.doesNotMatch(limited.text, /Invite them/);
    }

    // The limit is the prober's own: someone else still starts conversations.
    const other = await signedUpUser("bystander");
    await other.browser.get("/chat");
    assert.match((await other.browser.post("/chat/start", { email: known })).location ?? "", /^\/chat\//);
  });
});
