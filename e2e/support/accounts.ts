import { expect, type Page } from "@playwright/test";
import { Redis } from "ioredis";
import { codeIn, inboxMark, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { readBrowserEnv, readStackEnv } from "../../scripts/lib/stack-env.js";

const stack = readBrowserEnv();
// The native stack's Redis. The Docker test's stack publishes none, and needs none: it is new
// for every run, so its count of sign-ups never comes near the limit.
const nativeRedisUrl = (() => {
  try {
    return readStackEnv().REDIS_URL;
  } catch {
    return undefined;
  }
})();
/** The password every user made by signUpInBrowser has. */
export const PASSWORD = "amber lighthouse drifts north";

/**
 * Every browser here signs up from 127.0.0.1 (nginx passes the real peer address), and the app
 * allows 10 sign-ups an hour per address: the suite's own count is cleared first, as a clock
 * moved on would.
 */
export async function forgetSignUpsFromLoopback(): Promise<void> {
  if (!nativeRedisUrl) return;
  const redis = new Redis(nativeRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.del("duet:rl:signup-ip:127.0.0.1", "duet:rl:signup-ip:::1");
  } finally {
    redis.disconnect();
  }
}

/** Signs a new user up through the pages and the emailed code; returns their address. */
export async function signUpInBrowser(page: Page, name: string): Promise<string> {
  await forgetSignUpsFromLoopback();
  const email = uniqueEmail(name.toLowerCase().replace(/\W+/g, "-"));
  await page.goto("/signup");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Your name", { exact: true }).fill(name);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  const since = await inboxMark(stack.MAIL_URL, email);
  await page.getByRole("button", { name: "Create account" }).click();
  const mail = await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since });
  await page.getByLabel("Code", { exact: true }).fill(codeIn(mail));
  await page.getByRole("button", { name: "Confirm" }).click();
  // Sign-up ends on "start a conversation"; callers here continue from the profile, as they did.
  await expect(page).toHaveURL(/\/chat\?welcome=1$/);
  await page.goto("/profile");
  return email;
}
