import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { codeIn, inboxMark, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { openBrowser, type TestBrowser } from "../test/browser.js";
import { instances, signedUpUser, startConversation } from "../test/factories.js";
import { connectServices, stack, type Services } from "../test/support.js";
import { AvatarModel } from "./avatars.js";
import { EmailCodeModel } from "./email-codes.js";
import { UserModel } from "./user.model.js";

const [instanceA = ""] = instances;

async function userId(email: string): Promise<string> {
  return String((await UserModel.findOne({ email }).lean())?._id);
}

/** The id of the user `browser` is signed in as, read from their own profile's picture. */
async function userIdOfBrowser(browser: TestBrowser): Promise<string> {
  const id = /src="\/avatars\/([a-f0-9]{24})/.exec((await browser.get("/profile")).html)?.[1];
  assert.ok(id, "the profile page shows the user's own picture");
  return id;
}

describe("profiles", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("name and status are saved and always shown escaped", async () => {
    const { browser } = await signedUpUser("profile");
    const res = await browser.post("/profile", { displayName: "<img src=x onerror=alert(1)>", status: 'Back at 5 & "busy"' });
    assert.equal(res.location, "/profile?saved=1");
    const page = await browser.get("/profile?saved=1");
    assert.doesNotMatch(page.html, /<img src=x/);
    assert.match(page.html, /&lt;img src&#x3D;x onerror&#x3D;alert\(1\)&gt;/);
    assert.match(page.text, /Your profile was saved/);
    assert.match(page.text, /Back at 5 & "busy"/);

    const tooLong = await browser.post("/profile", { displayName: "", status: "s".repeat(141) });
    assert.equal(tooLong.status, 422);
    assert.match(tooLong.text, /Enter the name others will see/);
    assert.match(tooLong.text, /Use at most 140 characters/);
  });

  it("a status sent as a list is answered in the form's own words, and nothing changes", async () => {
    // Found by scripts/attack (form fuzzing): the page showed the validator's "Invalid input:
    // expected string, received array" under the field.
    const { browser } = await signedUpUser("profile-list");
    const res = await browser.post("/profile", { displayName: "Listed Person", "status[]": "busy" });
    assert.equal(res.status, 422);
    assert.doesNotMatch(res.text, /Invalid input|expected \w+, received/);
    assert.match(res.text, /Use letters, numbers and punctuation only\./);
    assert.doesNotMatch((await browser.get("/profile")).text, /Listed Person/);
  });

  it("an uploaded picture is re-encoded to a 256×256 WebP without its metadata", async () => {
    const { browser, email } = await signedUpUser("avatar");
    const photo = await sharp({ create: { width: 800, height: 600, channels: 3, background: "#3366aa" } })
      .jpeg()
      .withMetadata({ exif: { IFD0: { Copyright: "secret-gps-and-camera" } } })
      .toBuffer();
    const res = await browser.upload("/profile/avatar", {}, { field: "avatar", name: "me.jpg", type: "image/jpeg", data: photo });
    assert.equal(res.location, "/profile?avatar=1");

    const stored = await AvatarModel.findOne({ userId: await userId(email) });
    assert.ok(stored);
    const meta = await sharp(stored.image).metadata();
    assert.equal(meta.format, "webp");
    assert.equal(meta.width, 256);
    assert.equal(meta.height, 256);
    assert.equal(meta.exif, undefined);

    const served = await fetch(`${instanceA}/avatars/${await userId(email)}?v=1`, {
      headers: {
        Cookie: `__Host-duet.sid=${browser.cookie("__Host-duet.sid")}; __Host-duet.sid.sig=${browser.cookie("__Host-duet.sid.sig")}`,
        "X-Forwarded-Proto": "https",
      },
    });
    assert.equal(served.headers.get("content-type"), "image/webp");
    assert.doesNotMatch(Buffer.from(await served.arrayBuffer()).toString("latin1"), /secret-gps-and-camera/);
  });

  it("a file that is not an image, or too large, is refused and nothing changes", async () => {
    const { browser, email } = await signedUpUser("badfile");
    const fake = await browser.upload(
      "/profile/avatar",
      {},
      { field: "avatar", name: "evil.png", type: "image/png", data: Buffer.from("<svg onload=alert(1)>") },
    );
    assert.equal(fake.status, 422);
    assert.match(fake.text, /not an image we can read/);

    const huge = await browser.upload(
      "/profile/avatar",
      {},
      { field: "avatar", name: "big.png", type: "image/png", data: Buffer.alloc(6 * 1024 * 1024, 1) },
    );
    assert.equal(huge.status, 413);
    assert.equal(await AvatarModel.countDocuments({ userId: await userId(email) }), 0);

    const noToken = openBrowser(instanceA);
    const anonymous = await noToken.upload(
      "/profile/avatar",
      {},
      { field: "avatar", name: "a.png", type: "image/png", data: Buffer.from("x") },
    );
    assert.equal(anonymous.status, 403, "uploads need the CSRF token too");
  });

  it("without a picture, others see generated initials with the name escaped", async () => {
    const { email } = await signedUpUser("initials");
    await UserModel.updateOne({ email }, { $set: { displayName: '"><script>x</script> Zed' } });
    const { browser: viewer } = await signedUpUser("viewer");
    await startConversation(viewer, email);
    const res = await viewer.get(`/avatars/${await userId(email)}`);
    assert.match(res.headers.get("content-type") ?? "", /^image\/svg\+xml/);
    assert.doesNotMatch(res.html, /<script>/);
    assert.match(res.html, />&quot;Z</);
  });

  it("people they share a room with see only name, picture, status and last seen; the signed-out see nothing", async () => {
    const { email } = await signedUpUser("public");
    const { browser: viewer } = await signedUpUser("looker");
    await startConversation(viewer, email);
    const page = await viewer.get(`/people/${await userId(email)}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /public tester/);
    assert.doesNotMatch(page.html, new RegExp(email.replace(".", "\\.")));
    const stranger = openBrowser(instanceA);
    assert.equal((await stranger.get(`/people/${await userId(email)}`)).status, 302);
    assert.equal((await stranger.get(`/avatars/${await userId(email)}`)).status, 302);
    assert.equal((await viewer.get("/people/000000000000000000000000")).status, 404);
    assert.equal((await viewer.get("/people/not-an-id")).status, 404);
  });

  it("a signed-in stranger gets the same 404 for someone's profile and picture as for an id that does not exist", async () => {
    const { browser: owner, email } = await signedUpUser("private");
    const { browser: peer } = await signedUpUser("peer");
    const { browser: stranger } = await signedUpUser("walker");
    await startConversation(peer, email);
    const id = await userId(email);
    // The request id differs per answer; everything else must not.
    const answer = async (browser: typeof stranger, path: string) => {
      const res = await browser.get(path);
      return { status: res.status, text: res.text.replace(/Reference: \S+/, "") };
    };
    const missing = await answer(stranger, "/people/000000000000000000000000");
    assert.equal(missing.status, 404);
    assert.deepEqual(await answer(stranger, `/people/${id}`), missing);
    assert.deepEqual(await answer(stranger, `/avatars/${id}?v=0`), await answer(stranger, "/avatars/000000000000000000000000"));
    assert.equal((await stranger.get(`/avatars/${id}`)).status, 404);
    // One side starting the conversation is enough for both to see each other; and everyone sees themself.
    assert.equal((await peer.get(`/people/${id}`)).status, 200);
    assert.equal((await peer.get(`/avatars/${id}`)).status, 200);
    assert.equal((await owner.get(`/people/${id}`)).status, 200);
    assert.equal((await owner.get(`/avatars/${id}`)).status, 200);
    assert.equal((await owner.get(`/people/${await userIdOfBrowser(peer)}`)).status, 200);
  });

  it("a picture over the limit, sent through nginx, ends on the profile form with a clear message and changes nothing", async () => {
    const { browser, email } = await signedUpUser("bigpicture");
    browser.useInstance(stack.APP_URL);
    await browser.get("/profile");
    const picture = (megabytes: number) => ({
      field: "avatar",
      name: "big.png",
      type: "image/png",
      data: Buffer.alloc(Math.round(megabytes * 1024 * 1024), 1),
    });

    // Over the app's limit, under nginx's: the app answers with its own form.
    const overApp = await browser.upload("/profile/avatar", {}, picture(5.5));
    assert.equal(overApp.status, 413);
    assert.match(overApp.text, /That picture is larger than 5 MB/);
    assert.match(overApp.html, /<label for="avatar-file">Upload a picture<\/label>/, "the profile form is shown again");

    // Far over both: nginx answers itself, with Duet's page, not its bare one.
    const overNginx = await browser.upload("/profile/avatar", {}, picture(20));
    assert.equal(overNginx.status, 413);
    assert.match(overNginx.html, /<h1 id="error-title">/);
    assert.match(overNginx.text, /That picture is larger than 5 MB/);
    assert.doesNotMatch(overNginx.html, /<center>nginx<\/center>/);
    assert.match(overNginx.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.equal(await AvatarModel.countDocuments({ userId: await userId(email) }), 0);
  });

  it("changing the email needs the password and a code sent to the new address", async () => {
    const { browser, email, password } = await signedUpUser("mover");
    const target = uniqueEmail("moved");
    const wrongPassword = await browser.post("/profile/email", { email: target, currentPassword: "not my password at all" });
    assert.equal(wrongPassword.status, 422);
    assert.match(wrongPassword.text, /That isn't your current password/);

    const since = await inboxMark(stack.MAIL_URL, target);
    const started = await browser.post("/profile/email", { email: target, currentPassword: password });
    assert.equal(started.location, `/profile?verifyEmail=${encodeURIComponent(target)}#email`);
    const code = codeIn(await waitForEmail(stack.MAIL_URL, target, { subject: /Confirm your new Duet email/, since }));
    await browser.get(`/profile?verifyEmail=${encodeURIComponent(target)}`);
    assert.equal((await browser.post("/profile/email/verify", { pendingEmail: target, code })).location, "/profile?email=1");
    assert.equal((await UserModel.findOne({ _id: await userId(target) }).lean())?.email, target);
    assert.equal(await UserModel.countDocuments({ email }), 0);
  });

  it("asking to move to an address that has an account looks the same but sends no code", async () => {
    const { email: taken } = await signedUpUser("owner");
    const { browser, password } = await signedUpUser("squatter");
    const since = await inboxMark(stack.MAIL_URL, taken);
    const res = await browser.post("/profile/email", { email: taken, currentPassword: password });
    assert.equal(res.location, `/profile?verifyEmail=${encodeURIComponent(taken)}#email`);
    assert.equal(await EmailCodeModel.countDocuments({ email: taken, purpose: "email-change" }), 0);
    assert.deepEqual(
      [...(await inboxMark(stack.MAIL_URL, taken))].filter((id) => !since.has(id)),
      [],
    );
  });

  it("changing the password needs the current one and signs out other devices", async () => {
    const { browser, email, password } = await signedUpUser("changer");
    const other = openBrowser(instanceA);
    await other.get("/signin");
    await other.post("/signin", { email, password });
    const wrong = await browser.post("/profile/password", {
      currentPassword: "wrong current pass",
      newPassword: "sunlit meadow cartwheel",
    });
    assert.equal(wrong.status, 422);
    assert.match(wrong.text, /That isn't your current password/);
    assert.equal(
      (await browser.post("/profile/password", { currentPassword: password, newPassword: "sunlit meadow cartwheel" })).location,
      "/profile?password=1",
    );
    assert.equal((await other.get("/profile")).status, 302);
    assert.equal((await browser.get("/profile")).status, 200);
  });

  it("deleting the account needs the password and removes the user, sessions and personal data", async () => {
    const { browser, email, password } = await signedUpUser("leaver");
    const id = await userId(email);
    const tiny = await sharp({ create: { width: 10, height: 10, channels: 3, background: "#000" } })
      .png()
      .toBuffer();
    await browser.upload("/profile/avatar", {}, { field: "avatar", name: "a.png", type: "image/png", data: tiny });
    const refused = await browser.post("/profile/delete", { currentPassword: "definitely not it" });
    assert.equal(refused.status, 422);
    assert.equal(await UserModel.countDocuments({ _id: id }), 1);

    assert.equal((await browser.post("/profile/delete", { currentPassword: password })).location, "/signin?deleted=1");
    assert.equal(await UserModel.countDocuments({ _id: id }), 0);
    assert.equal(await AvatarModel.countDocuments({ userId: id }), 0);
    assert.equal(await EmailCodeModel.countDocuments({ userId: id }), 0);
    assert.deepEqual(await services.redis.smembers(`duet:user-sessions:${id}`), []);
    assert.equal((await browser.get("/profile")).status, 302);
    const again = openBrowser(instanceA);
    await again.get("/signin");
    assert.equal((await again.post("/signin", { email, password })).status, 401);
  });
});
