/**
 * What a browser, or an attacker, sees at the edge: nginx in front of the running stack.
 * Port 80 redirects and answers ACME challenges; every answer carries the security headers,
 * including nginx's own error pages; the account endpoints are rate-limited; fingerprinted
 * assets are cached for a year.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readStackEnv } from "../scripts/lib/stack-env.js";
import { probe, type Answer } from "../scripts/lib/http-probe.js";
import { freePort, startNginx, type NginxInstance } from "../scripts/lib/nginx-instance.js";
import { ROOT } from "../scripts/lib/settings.js";
import { signedUpUser } from "../src/test/factories.js";

const stack = readStackEnv();
const ca = readFileSync(stack.CA_CERT);
const [instance = ""] = stack.APP_INSTANCES.split(",");
const get = (path: string, options: Omit<Parameters<typeof probe>[1], "ca"> = {}) =>
  probe(`${stack.APP_URL}${path}`, { ca, ...options });

function assertSecurityHeaders(answer: Answer) {
  const h = answer.headers;
  assert.equal(h["strict-transport-security"], "max-age=63072000; includeSubDomains");
  assert.match(String(h["content-security-policy"]), /default-src 'none'/);
  assert.doesNotMatch(String(h["content-security-policy"]), /unsafe-inline/);
  assert.match(String(h["content-security-policy"]), /frame-ancestors 'none'/);
  assert.equal(h["x-content-type-options"], "nosniff");
  assert.equal(h["referrer-policy"], "strict-origin-when-cross-origin");
  assert.equal(h["cross-origin-opener-policy"], "same-origin");
}

describe("port 80", () => {
  test("redirects every page to https, path and query kept, with 301", async () => {
    const answer = await probe(`${stack.HTTP_URL}/chat?with=bob`);
    assert.equal(answer.status, 301);
    assert.equal(answer.headers.location, `${stack.APP_URL}/chat?with=bob`);
  });

  test("serves ACME HTTP-01 challenge files from the webroot, and nothing else there", async () => {
    const challenges = join(stack.STACK_DIR, "acme", ".well-known", "acme-challenge");
    mkdirSync(challenges, { recursive: true });
    writeFileSync(join(challenges, "token-123"), "token-123.thumbprint");
    const answer = await probe(`${stack.HTTP_URL}/.well-known/acme-challenge/token-123`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body, "token-123.thumbprint");
    assert.match(String(answer.headers["content-type"]), /^text\/plain/);
    assert.equal((await probe(`${stack.HTTP_URL}/.well-known/acme-challenge/missing`)).status, 404);
    rmSync(join(challenges, "token-123"));
  });
});

describe("static assets", () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, "dist", "static", "manifest.json"), "utf8")) as Record<string, string>;

  test("a fingerprinted stylesheet is cached for a year, immutable, with the security headers", async () => {
    const hashed = manifest["css/duet.css"];
    assert.match(String(hashed), /^css\/duet\.[0-9a-f]{10}\.css$/);
    const answer = await get(`/static/${hashed}`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["cache-control"], "public, max-age=31536000, immutable");
    // The name carries the content's hash, so a changed stylesheet gets a new name.
    assert.equal(createHash("sha256").update(answer.body).digest("hex").slice(0, 10), String(hashed).split(".")[1]);
    assertSecurityHeaders(answer);
  });

  test("an asset under its plain name is cached for an hour only", async () => {
    const answer = await get("/static/css/duet.css");
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["cache-control"], "max-age=3600");
  });
});

describe("security headers", () => {
  test("are on the app's pages and on its own error pages", async () => {
    const home = await get("/");
    assert.equal(home.status, 200);
    assertSecurityHeaders(home);
    const missing = await get("/no-such-page");
    assert.equal(missing.status, 404);
    assertSecurityHeaders(missing);
  });
});

describe("the account endpoints' rate limit", () => {
  // Any 127.x.y.z is loopback: a fresh one is a client nginx has not seen (so a second run
  // starts with a full burst), and the browser tests' 127.0.0.1 stays exempt.
  const octet = () => 1 + Math.floor(Math.random() * 253);
  const freshClient = () => ({ localAddress: `127.${octet()}.${octet()}.${octet()}` });
  const client = freshClient();

  test("a burst of sign-in POSTs from one address ends in 429 with the site's page and headers", async () => {
    const statuses: number[] = [];
    let limited: Answer | undefined;
    for (let i = 0; i < 30 && !limited; i++) {
      const answer = await get("/signin", { method: "POST", ...client });
      statuses.push(answer.status);
      if (answer.status === 429) limited = answer;
    }
    assert.ok(limited, `never limited: ${statuses.join(" ")}`);
    // The burst (10) went through to the app before the limit applied.
    assert.ok(statuses.length > 10, `limited after ${statuses.length - 1} requests`);
    assert.match(limited.body, /<h1 id="error-title">Too many attempts<\/h1>/);
    assert.match(String(limited.headers["content-type"]), /^text\/html/);
    assertSecurityHeaders(limited);
    // The same limit covers the other endpoints; the forms themselves (GET) stay reachable.
    assert.equal((await get("/reset", { method: "POST", ...client })).status, 429);
    assert.equal((await get("/signup/verify", { method: "POST", ...client })).status, 429);
    assert.notEqual((await get("/signin", client)).status, 429);
    assert.notEqual((await get("/", { method: "POST", ...client })).status, 429);
  });

  test("capitals do not dodge it: POST /SIGNIN with a real account's password never signs in, and ends in 429", async () => {
    const { email, password } = await signedUpUser("capitals");
    const visitor = freshClient();
    // A real visitor's form, fetched through nginx: its CSRF cookie and token are valid.
    const form = await get("/signin", visitor);
    const cookie = (form.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? "";
    assert.ok(cookie && token, "the sign-in form sets a CSRF cookie and token");
    const body = new URLSearchParams({ _csrf: token, email, password }).toString();
    const headers = { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" };

    const answers: string[] = [];
    for (let i = 0; i < 30 && !answers.includes("429"); i++) {
      const path = ["/SIGNIN", "/SignIn", "/signIN"][i % 3] ?? "/SIGNIN";
      const answer = await get(path, { method: "POST", ...visitor, headers, body });
      answers.push(String(answer.status));
      assert.ok(
        answer.status === 404 || answer.status === 429,
        `POST ${path} answered ${answer.status} ${answer.headers.location ?? ""} after ${answers.join(" ")}`,
      );
    }
    assert.equal(answers.at(-1), "429", `never limited: ${answers.join(" ")}`);
  });
});

describe("health probes seen from outside", () => {
  test("/readyz and /healthz through nginx answer their status only: no instance name, no check details", async () => {
    const ready = await get("/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body), { status: "ready" });
    const live = await get("/healthz");
    assert.equal(live.status, 200);
    assert.deepEqual(JSON.parse(live.body), { status: "ok" });
    // Straight to an instance from this machine (as an orchestrator asks), the details stay.
    const direct = (await (await fetch(`${instance}/readyz`)).json()) as { checks: Record<string, string> };
    assert.deepEqual(direct.checks, { mongodb: "ok", redis: "ok" });
  });
});

describe("when the app is unreachable", () => {
  let nginx: NginxInstance;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "duet-edge-"));
    // An nginx from the same templates whose upstream is a port nothing listens on.
    nginx = await startNginx(dir, {
      TLS_CERT: join(dirname(stack.CA_CERT), "fullchain.pem"),
      TLS_KEY: join(dirname(stack.CA_CERT), "server.key"),
      APP_UPSTREAMS: `127.0.0.1:${await freePort()}`,
    });
  });

  after(async () => {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("nginx answers 502 with the site's own page, styled by the fingerprinted stylesheet", async () => {
    const url = `https://localhost:${nginx.httpsPort}`;
    const answer = await probe(`${url}/chat`, { ca });
    assert.equal(answer.status, 502);
    assert.match(answer.body, /<h1 id="error-title">Duet is restarting<\/h1>/);
    assert.doesNotMatch(answer.body, /<script|style=/);
    assert.equal(answer.headers["cache-control"], "no-store");
    assertSecurityHeaders(answer);
    const stylesheet = answer.body.match(/<link rel="stylesheet" href="([^"]+)"/)?.[1] ?? "";
    assert.match(stylesheet, /^\/static\/css\/duet\.[0-9a-f]{10}\.css$/);
    assert.equal((await probe(`${url}${stylesheet}`, { ca })).status, 200);
  });
});
