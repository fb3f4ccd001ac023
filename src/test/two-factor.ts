/** Two-factor for tests: turning it on through the real pages, and making codes as the user's app would. */
import assert from "node:assert/strict";
import { totpAt } from "../accounts/totp.js";
import type { TestBrowser } from "./browser.js";

export type Authenticator = {
  secret: string;
  /** The code the app shows `offsetSteps` steps (30 s each) from now. */
  code(offsetSteps?: number): Promise<string>;
};

export function authenticator(secret: string): Authenticator {
  return { secret, code: (offsetSteps = 0) => totpAt(secret, Date.now() + offsetSteps * 30_000) };
}

/** The set-up key the page shows for typing into an app. */
export function setupKeyOn(html: string): string {
  const key = /<code class="totp-secret"[^>]*>([A-Z2-7 ]+)<\/code>/.exec(html)?.[1];
  assert.ok(key, "the set-up page shows the key to type");
  return key.replace(/ /g, "");
}

/** The recovery codes a page shows. */
export const recoveryCodesOn = (html: string): string[] =>
  [...html.matchAll(/<li><code>([0-9a-z-]{19})<\/code><\/li>/g)].map((m) => m[1] ?? "");

/**
 * Turns two-factor on for `browser`'s user (`password`: theirs, or undefined when this session
 * has just confirmed it's them): returns their app and the recovery codes shown.
 */
export async function turnOnTwoFactor(
  browser: TestBrowser,
  password: string | undefined,
): Promise<{ app: Authenticator; recoveryCodes: string[] }> {
  await browser.get("/profile/two-factor");
  const started = await browser.post("/profile/two-factor/setup", password ? { currentPassword: password } : {});
  assert.equal(started.location, "/profile/two-factor#setup", `set-up started: ${started.status} ${started.text.slice(0, 300)}`);
  const app = authenticator(setupKeyOn((await browser.get("/profile/two-factor")).html));
  const done = await browser.post("/profile/two-factor/confirm", { code: await app.code() });
  assert.equal(done.status, 200, done.text.slice(0, 300));
  const recoveryCodes = recoveryCodesOn(done.html);
  assert.equal(recoveryCodes.length, 10);
  return { app, recoveryCodes };
}
