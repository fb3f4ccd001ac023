import { expect, type Page } from "@playwright/test";
import { codeIn, inboxMark, uniqueEmail, waitForEmail } from "../../scripts/lib/mailbox.js";
import { readBrowserEnv } from "../../scripts/lib/stack-env.js";

const stack = readBrowserEnv();
/** The password every user made by signUpInBrowser has. */
export const PASSWORD = "amber lighthouse drifts north";

/** Signs a new user up through the pages and the emailed code; returns their address. */
export async function signUpInBrowser(page: Page, name: string): Promise<string> {
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
  await expect(page).toHaveURL(/\/profile/);
  return email;
}
