import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import type Koa from "koa";
import { buildApp, connectServices, type Services } from "./test/support.js";

describe("the app against the real MongoDB-protocol server and Redis", () => {
  let services: Services;
  let app: Koa;

  before(async () => {
    services = await connectServices();
    app = buildApp(services, { TRUSTED_PROXIES: "10.9.9.9" });
    // A route that fails the way a bug would, to see what reaches the client.
    app.use(async (ctx, next) => {
      if (ctx.path === "/boom") throw new Error("secret internal detail: db password is hunter2");
      await next();
    });
  });
  after(() => services.close());

  it("reports live and ready when MongoDB and Redis answer", async () => {
    await request(app.callback()).get("/healthz").expect(200, { status: "ok", instance: "test" });
    const ready = await request(app.callback()).get("/readyz").expect(200);
    assert.deepEqual(ready.body.checks, { mongodb: "ok", redis: "ok" });
    assert.equal(ready.headers["cache-control"], "no-store");
  });

  it("health probes relayed by a proxy answer their status only; callers on this machine get the details", async () => {
    // Trusts this machine as its proxy, as the native stack's app trusts nginx.
    const behindProxy = buildApp(services);
    const relayed = { "X-Forwarded-For": "203.0.113.7" };
    const ready = await request(behindProxy.callback()).get("/readyz").set(relayed).expect(200);
    assert.deepEqual(ready.body, { status: "ready" });
    const live = await request(behindProxy.callback()).get("/healthz").set(relayed).expect(200);
    assert.deepEqual(live.body, { status: "ok" });
    const direct = await request(behindProxy.callback()).get("/readyz").expect(200);
    assert.deepEqual(direct.body, { status: "ready", instance: "test", checks: { mongodb: "ok", redis: "ok" } });
  });

  it("routes match one spelling only: other capitals and a trailing slash are 404", async () => {
    await request(app.callback()).get("/signin").expect(200);
    for (const path of ["/SIGNIN", "/SignIn", "/signin/", "/Signup", "/FORGOT", "/reset/", "/Profile", "/CHAT"]) {
      const res = await request(app.callback()).get(path).set("Accept", "text/html");
      assert.equal(res.status, 404, `${path} answered ${res.status} ${res.headers.location ?? ""}`);
    }
  });

  it("renders the landing page with escaped, well-formed HTML", async () => {
    const res = await request(app.callback()).get("/").expect(200).expect("content-type", /html/);
    assert.match(res.text, /<h1>Private conversations, on a server you own.<\/h1>/);
    // Scripts only as the site's own files (the theme and site scripts), never inline.
    assert.doesNotMatch(res.text, /<script(?![^>]* src="\/static\/js\/[\w.]+\.js")/);
    assert.doesNotMatch(res.text, /<script[^>]*>[^<]/);
  });

  it("an unknown page is a 404 in HTML for browsers and JSON for API clients", async () => {
    const html = await request(app.callback()).get("/nope").set("Accept", "text/html").expect(404);
    assert.match(html.text, /Page not found/);
    const json = await request(app.callback()).get("/nope").set("Accept", "application/json").expect(404);
    assert.deepEqual(json.body, { error: { code: "not_found", message: "We couldn't find that page." } });
  });

  it("a failure inside a handler is a generic 500 that leaks nothing", async () => {
    const json = await request(app.callback()).get("/boom").set("Accept", "application/json").expect(500);
    assert.deepEqual(json.body, { error: { code: "internal", message: "Something went wrong on our side. Please try again." } });
    const html = await request(app.callback()).get("/boom").expect(500);
    assert.doesNotMatch(html.text, /hunter2|Error:|at .*\.ts/);
    assert.match(html.text, new RegExp(`Reference: <code>${html.headers["x-request-id"]}</code>`));
  });

  it("a body that cannot be read is a 400 that says so, not a fault of ours", async () => {
    // Found by scripts/attack (form fuzzing): malformed JSON got the 500's "Something went wrong
    // on our side" with its 400.
    for (const body of ['{"email":', '"just a string"']) {
      const res = await request(app.callback())
        .post("/signin")
        .set("Content-Type", "application/json")
        .set("Accept", "application/json")
        .send(body);
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, {
        error: { code: "bad_request", message: "That request could not be read. Reload the page and try again." },
      });
    }
  });

  it("a method the route lacks is 405, not a crash", async () => {
    const res = await request(app.callback()).delete("/healthz").set("Accept", "application/json").expect(405);
    assert.equal(res.body.error.code, "method_not_allowed");
  });

  it("request ids and forwarded headers from an untrusted peer are ignored", async () => {
    const res = await request(app.callback()).get("/healthz").set("X-Request-Id", "attacker-chosen-id-123").expect(200);
    assert.notEqual(res.headers["x-request-id"], "attacker-chosen-id-123");
    assert.match(res.headers["x-request-id"] ?? "", /^[0-9a-f-]{36}$/);
  });

  it("static files are served, and paths outside the static folder are not", async () => {
    await request(app.callback()).get("/static/css/duet.css").expect(200).expect("content-type", /css/);
    for (const path of ["/static/../../package.json", "/static/%2e%2e/pages/home.hbs", "/static/..%2f..%2fpackage.json"]) {
      const res = await request(app.callback()).get(path);
      assert.ok([400, 403, 404].includes(res.status), `${path} answered ${res.status}`);
      assert.doesNotMatch(res.text, /"dependencies"|\{\{/);
    }
  });
});
