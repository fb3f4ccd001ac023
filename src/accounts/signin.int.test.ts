import assert from "node:assert/strict";
import { createHash, randomInt } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { uniqueEmail } from "../../scripts/lib/mailbox.js";
import { watchRefusals } from "../../scripts/lib/redis-acl.js";
import { openBrowser } from "../test/browser.js";
import { instances, signedUpUser } from "../test/factories.js";
import { connectServices, stack, type Services } from "../test/support.js";

const [instanceA = "", instanceB = ""] = instances;

describe("sign-in and sessions", () => {
  let services: Services;
  let refusals: () => Promise<string[]>;
  before(async () => {
    services = await connectServices();
    refusals = await watchRefusals(stack.REDIS_ADMIN_URL);
  });
  after(() => services.close());

  it("unknown email and wrong password get the same answer", async () => {
    const { email } = await signedUpUser("same-answer");
    const browser = openBrowser(instanceA);
    await browser.get("/signin");
    const wrongPassword = await browser.post("/signin", { email, password: "not the right password" });
    const unknown = await browser.post("/signin", { email: uniqueEmail("nobody"), password: "not the right password" });
    assert.equal(wrongPassword.status, 401);
    assert.equal(unknown.status, 401);
    const message = (text: string) => /class="alert alert-error" role="alert">([^<]*)</.exec(text)?.[1];
    assert.equal(message(wrongPassword.html), message(unknown.html));
    assert.match(wrongPassword.text, /That email and password don't match an account/);
  });

  it("the session cookie is __Host-, HttpOnly, Secure, SameSite=Lax, and its id changes at sign-in", async () => {
    const { email, password } = await signedUpUser("cookie");
    const browser = openBrowser(instanceA);
    await browser.get("/signup");
    // An anonymous session exists before signing in (a pending sign-up); it must not survive sign-in.
    await browser.post("/signup", { email: uniqueEmail("anon"), displayName: "Anon", password: "quiet harbor lamps glow" });
    const before = browser.cookie("__Host-duet.sid");
    const beforeSig = browser.cookie("__Host-duet.sid.sig");
    assert.ok(before && beforeSig, "a pre-sign-in session exists");

    await browser.get("/signin");
    const res = await browser.post("/signin", { email, password });
    assert.equal(res.location, "/profile");
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-duet.sid="));
    assert.ok(setCookie);
    assert.match(setCookie, /; path=\//i);
    assert.match(setCookie, /; secure/i);
    assert.match(setCookie, /; httponly/i);
    assert.match(setCookie, /; samesite=lax/i);
    assert.doesNotMatch(setCookie, /domain=/i);
    assert.notEqual(browser.cookie("__Host-duet.sid"), before);

    // Someone holding the old (pre-sign-in) cookie is not signed in: session fixation fails.
    const attacker = openBrowser(instanceB);
    attacker.setCookie("__Host-duet.sid", before);
    attacker.setCookie("__Host-duet.sid.sig", beforeSig);
    assert.equal((await attacker.get("/profile")).location, "/signin?next=%2Fprofile");
  });

  it("a session made on one instance is served by the other", async () => {
    const { browser } = await signedUpUser("roaming", instanceA);
    browser.useInstance(instanceB);
    const res = await browser.get("/profile");
    assert.equal(res.status, 200);
    assert.match(res.text, /roaming tester/);
  });

  it("a session ends 30 days after sign-in however active, and after 14 idle days", async () => {
    const { browser } = await signedUpUser("lifetime");
    const sid = browser.cookie("__Host-duet.sid") ?? "";
    const key = `duet:sess:${createHash("sha256").update(sid).digest("base64url")}`;
    const data = JSON.parse((await services.redis.get(key)) ?? "{}") as { createdAt: number };
    // 31 days pass since sign-in (moved on the stored session rather than waited for).
    await services.redis.set(key, JSON.stringify({ ...data, createdAt: Date.now() - 31 * 24 * 3600_000 }), "KEEPTTL");
    assert.equal((await browser.get("/profile")).status, 302);

    const { browser: idle } = await signedUpUser("idle");
    const idleKey = `duet:sess:${createHash("sha256")
      .update(idle.cookie("__Host-duet.sid") ?? "")
      .digest("base64url")}`;
    const ttl = await services.redis.pttl(idleKey);
    // koa-session stores with a few seconds of slack beyond the cookie's max age.
    assert.ok(ttl > 13 * 24 * 3600_000 && ttl <= 14 * 24 * 3600_000 + 60_000, `idle timeout is 14 days (TTL ${ttl} ms)`);
  });

  it("signing out destroys the server-side session", async () => {
    const { browser } = await signedUpUser("signout");
    const sid = browser.cookie("__Host-duet.sid");
    const sig = browser.cookie("__Host-duet.sid.sig");
    assert.ok(sid && sig);
    assert.equal((await browser.post("/signout", {})).location, "/");
    const replay = openBrowser(instanceB);
    replay.setCookie("__Host-duet.sid", sid);
    replay.setCookie("__Host-duet.sid.sig", sig);
    assert.equal((await replay.get("/profile")).status, 302, "the old cookie no longer signs anyone in");
  });

  it("too many wrong passwords lock the account on every instance, with a clear wait", async () => {
    const { email, password } = await signedUpUser("locked");
    // Different addresses, as a distributed guesser would use: the per-account limit must hold.
    for (let i = 0; i < 10; i++) {
      const browser = openBrowser(i % 2 === 0 ? instanceA : instanceB);
      await browser.get("/signin");
      assert.equal((await browser.post("/signin", { email, password: `wrong guess number ${i}` })).status, 401);
    }
    for (const instance of [instanceA, instanceB]) {
      const browser = openBrowser(instance);
      await browser.get("/signin");
      const res = await browser.post("/signin", { email, password });
      assert.equal(res.status, 429, "even the right password waits out the lock");
      assert.match(res.text, /Too many attempts. Try again in 15 minutes./);
    }
  });

  it("too many failures from one address are limited across instances", async () => {
    const ip = `198.51.100.${randomInt(1, 255)}`;
    for (let i = 0; i < 30; i++) {
      const browser = openBrowser(i % 2 === 0 ? instanceA : instanceB, ip);
      await browser.get("/signin");
      assert.equal((await browser.post("/signin", { email: uniqueEmail("spray"), password: "guessing passwords" })).status, 401);
    }
    const browser = openBrowser(instanceB, ip);
    await browser.get("/signin");
    const res = await browser.post("/signin", { email: uniqueEmail("spray"), password: "guessing passwords" });
    assert.equal(res.status, 429);
    assert.match(res.text, /Try again in \d+ minutes/);
  });

  it("state-changing requests need this site's CSRF token", async () => {
    const { browser } = await signedUpUser("csrf");
    const withoutToken = await browser.post("/profile", { displayName: "Mallory", _csrf: "" });
    assert.equal(withoutToken.status, 403);
    assert.match(withoutToken.text, /This form expired or came from another site/);

    const other = openBrowser(instanceA);
    await other.get("/signin");
    const foreignToken = await browser.post("/profile", { displayName: "Mallory", _csrf: other.csrf });
    assert.equal(foreignToken.status, 403, "a token from another browser is useless");

    const crossSite = await browser.post("/profile", { displayName: "Mallory" }, { Origin: "https://evil.example" });
    assert.equal(crossSite.status, 403);

    const json = await browser.post("/signout", { _csrf: "" }, { Accept: "application/json" });
    assert.equal(json.status, 403);
    assert.deepEqual(JSON.parse(json.html), {
      error: { code: "csrf", message: "This form expired or came from another site. Go back, reload the page and try again." },
    });
    assert.match((await browser.get("/profile")).text, /csrf tester/, "nothing changed");
  });

  it("lists where you're signed in and signs out the other sessions", async () => {
    const { browser: laptop, email, password } = await signedUpUser("devices");
    const phone = openBrowser(instanceB);
    await phone.get("/signin");
    await phone.post("/signin", { email, password }, { "User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/130.0 Mobile" });
    const list = await laptop.get("/profile");
    assert.match(list.text, /Chrome on Android/);
    assert.match(list.text, /This device/);

    await laptop.post("/profile/sessions/revoke-others", {});
    assert.equal((await phone.get("/profile")).status, 302, "the phone is signed out");
    assert.equal((await laptop.get("/profile")).status, 200, "this device stays signed in");
    assert.doesNotMatch((await laptop.get("/profile")).text, /Android/);
  });

  it("an oversized form is refused with 413 and changes nothing", async () => {
    const { browser } = await signedUpUser("oversized");
    const res = await browser.post("/profile", { displayName: "x".repeat(40_000) });
    assert.equal(res.status, 413);
    assert.match((await browser.get("/profile")).text, /oversized tester/);
  });

  it("after signing in, only local paths are followed (no open redirect)", async () => {
    const { email, password } = await signedUpUser("redirect");
    for (const [next, expected] of [
      ["/profile", "/profile"],
      ["//evil.example/", "/profile"],
      ["https://evil.example/", "/profile"],
      ["/\\evil.example", "/profile"],
    ]) {
      const browser = openBrowser(instanceA);
      await browser.get("/signin");
      assert.equal((await browser.post("/signin", { email, password, next: next ?? "" })).location, expected);
    }
  });

  // Runs last: every flow above went through Redis as the app's own user (redis/app-user.acl).
  it("Redis refused none of the commands the app sent", async () => {
    assert.deepEqual(await refusals(), []);
  });
});
