/**
 * Issue #17, step 5: the production override on the same installation (its volumes and .env),
 * for the domain chat.duet.test, with pebble standing in for Let's Encrypt on the stack's
 * network (docker/compose.prod-test.yml). scripts/first-certificate obtains the certificate
 * through nginx's ACME webroot and nginx serves it; then the certbot service renews it and
 * nginx's certificate watch reloads onto the new one while a chat WebSocket stays open.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { X509Certificate } from "node:crypto";
import { chromium, expect, test, type Browser, type Page, type WebSocket } from "@playwright/test";
import { browserHomeTrusting, CHROMIUM, CHROMIUM_ARGS } from "../support/browser.js";
import { PASSWORD } from "../support/accounts.js";
import { servedCertificate } from "../../scripts/lib/tls-probe.js";
import { CHECKOUT, compose, inCheckout, LOCAL, PRODUCTION } from "./support/compose.js";
import { navigate } from "./support/page.js";
import { recall } from "./support/people.js";

test.describe.configure({ mode: "serial" });

const run = promisify(execFile);
const DOMAIN = "chat.duet.test";
const stackDir = process.env.DOCKER_STACK_DIR ?? ".";
const pebbleDir = process.env.DUET_PEBBLE_DIR ?? join(stackDir, "pebble");
// What a production .env adds (README, Production); the rest is the .env the local stack used.
const production = {
  DOMAIN,
  LETSENCRYPT_EMAIL: "admin@duet.test",
  SMTP_URL: "smtp://mail.duet.test:25",
  MAIL_FROM: `Duet <no-reply@${DOMAIN}>`,
};
let pebbleRoot = "";
let browser: Browser;

/** pebble's config, its API certificate (from the local CA the certs job made) and certbot's cli.ini. */
async function writePebbleFiles() {
  mkdirSync(pebbleDir, { recursive: true });
  const certs = join(CHECKOUT, "certs");
  await run(
    "openssl",
    ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
      "-subj",
      "/CN=pebble",
      "-keyout",
      join(pebbleDir, "pebble.key"),
      "-out",
      join(pebbleDir, "pebble.csr"),
    ]),
  );
  writeFileSync(join(pebbleDir, "san.ext"), "subjectAltName=DNS:pebble,IP:127.0.0.1\n");
  await run(
    "openssl",
    ["x509", "-req", "-in", join(pebbleDir, "pebble.csr"), "-CA", join(certs, "ca.pem")].concat([
      "-CAkey",
      join(certs, "ca.key"),
      "-days",
      "2",
      "-extfile",
      join(pebbleDir, "san.ext"),
      "-out",
      join(pebbleDir, "pebble.pem"),
    ]),
  );
  await run("cp", [join(certs, "ca.pem"), join(pebbleDir, "ca.pem")]);
  chmodSync(join(pebbleDir, "pebble.key"), 0o644);
  const config = {
    pebble: {
      listenAddress: "0.0.0.0:14000",
      managementListenAddress: "0.0.0.0:15000",
      certificate: "/etc/duet-test/pebble.pem",
      privateKey: "/etc/duet-test/pebble.key",
      // Where pebble checks HTTP-01 challenges: port 80 of DOMAIN, that is nginx.
      httpPort: 80,
      tlsPort: 443,
      ocspResponderURL: "",
      externalAccountBindingRequired: false,
    },
  };
  writeFileSync(join(pebbleDir, "pebble.json"), JSON.stringify(config));
  writeFileSync(join(pebbleDir, "cli.ini"), "server = https://pebble:14000/dir\n");
  // This host's DNS for DOMAIN, as scripts/first-certificate checks it: a stand-in for getent.
  const bin = join(stackDir, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, "getent"),
    `#!/bin/sh\n[ "$1 $2" = "ahosts ${DOMAIN}" ] && { echo "127.0.0.1 STREAM ${DOMAIN}"; exit 0; }\nexec /usr/bin/getent "$@"\n`,
    { mode: 0o755 },
  );
  return bin;
}

/** The certificate nginx serves for DOMAIN on 127.0.0.1:443, verified against pebble's root. */
async function servedSerial(): Promise<string> {
  return (await servedCertificate(443, DOMAIN, pebbleRoot)).serialNumber;
}

async function certificateFile(): Promise<X509Certificate> {
  const pem = await compose(PRODUCTION, ["exec", "-T", "nginx", "cat", `/etc/letsencrypt/live/${DOMAIN}/cert.pem`], production);
  return new X509Certificate(pem.slice(pem.indexOf("-----BEGIN")));
}

/**
 * Signs in through the form and waits for the POST's own answer: the page's URL alone cannot
 * tell, since a POST failed in the network leaves it on /signin until Chromium's error page
 * commits a moment later. Again once if Chromium failed the POST with ERR_NETWORK_CHANGED (see
 * ./support/network.ts); any other failure is reported as what it is.
 */
async function signIn(page: Page, email: string, attempt = 1): Promise<void> {
  await navigate(() => page.goto("/signin"));
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  const posted = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/signin");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const request = await posted;
  const response = await request.response();
  if (!response) {
    const error = request.failure()?.errorText ?? "no answer";
    if (error.includes("ERR_NETWORK_CHANGED") && attempt === 1) return signIn(page, email, 2);
    throw new Error(`the sign-in POST failed in the browser: ${error}`);
  }
  expect(response.status(), "the sign-in POST redirects").toBe(302);
  expect(response.headers().location).toBe("/profile");
  await page.waitForURL("/profile");
}

test.beforeAll(async () => {
  // The local stack stops (its data stays in the volumes), as when a host moves to production.
  await compose(LOCAL, ["down"]);
});

test.afterAll(async () => {
  await browser?.close();
});

test("scripts/first-certificate obtains the certificate from the ACME server, and nginx serves it", async () => {
  const bin = await writePebbleFiles();
  await compose(PRODUCTION, ["up", "-d", "pebble"], production);
  const out = await inCheckout(PRODUCTION, "bash", ["scripts/first-certificate"], {
    ...production,
    PATH: `${bin}:${process.env.PATH ?? ""}`,
  });
  expect(out).toContain(`${DOMAIN} resolves to: 127.0.0.1`);
  expect(out).toMatch(/issuer=.*Pebble Intermediate CA/);
  expect(out).toContain(`subject=CN = ${DOMAIN}`);

  const management = (await compose(PRODUCTION, ["port", "pebble", "15000"], production)).trim();
  pebbleRoot = await (await fetch(`https://${management}/roots/0`)).text();
  expect(await servedSerial()).toBe((await certificateFile()).serialNumber);
});

test("the certbot service renews the certificate and nginx reloads onto it without dropping a WebSocket", async () => {
  await compose(PRODUCTION, ["up", "-d", "--wait"], production);

  // A browser that knows DOMAIN as this host and trusts pebble's root, like a visitor's.
  const rootFile = join(stackDir, "pebble-root.pem");
  writeFileSync(rootFile, pebbleRoot);
  const home = browserHomeTrusting(rootFile, join(stackDir, "browser-home-production"));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${DOMAIN} 127.0.0.1`],
    env: { ...process.env, HOME: home },
  });
  const page: Page = await browser.newPage({ baseURL: `https://${DOMAIN}` });
  const carol = recall("carol");
  await signIn(page, carol.email);
  const sockets: WebSocket[] = [];
  // The conversation's socket (the page also opens the list's, /ws/inbox).
  page.on("websocket", (ws) => {
    if (new URL(ws.url()).pathname.startsWith("/ws/chat/")) sockets.push(ws);
  });
  await navigate(() => page.goto(carol.room));
  await expect(page.locator('[data-state="live"]')).toBeVisible();
  await expect(page.locator("li.msg-me")).toContainText("Kept in the backup");
  expect(sockets).toHaveLength(1);

  const before = await servedSerial();
  await compose(
    PRODUCTION,
    ["exec", "-T", "certbot", "certbot", "renew", "--force-renewal", "--no-random-sleep-on-renew"].concat([
      "--webroot",
      "-w",
      "/var/www/acme",
    ]),
    production,
  );
  const renewed = await certificateFile();
  expect(renewed.serialNumber).not.toBe(before);
  await expect.poll(servedSerial, { timeout: 20_000 }).toBe(renewed.serialNumber);

  // The socket opened before the reload still carries messages, and was never replaced.
  const composer = page.getByLabel("Message", { exact: true });
  await composer.fill("Sent over the same socket after the renewal");
  await composer.press("Enter");
  await expect(page.locator("li.msg-me").last().locator(".state")).toContainText(/Sent|Read/);
  expect(sockets).toHaveLength(1);
  expect(sockets[0]?.isClosed()).toBe(false);
});
