import { expect, test, type Browser, type Page } from "@playwright/test";
import { codeIn, inboxMark, linkIn, uniqueEmail, waitForEmail } from "../scripts/lib/mailbox.js";
import { readStackEnv } from "../scripts/lib/stack-env.js";
import { forgetSignUpsFromLoopback } from "./support/accounts.js";

const stack = readStackEnv();

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

test.describe("a new user's account, in a real browser through nginx", () => {
  test("signs up with an emailed code, signs out, resets the password, edits the profile @responsive", async ({ page }) => {
    await forgetSignUpsFromLoopback();
    const email = uniqueEmail("e2e");
    const password = "violet tractor sings at dawn";

    await page.goto("/");
    await page.getByRole("link", { name: "Create your account" }).click();
    await expect(page).toHaveURL(/\/signup$/);
    await shot(page, "01-signup");

    // The server checks the password, and keeps what was typed except the password.
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Your name", { exact: true }).fill("Ada Lovelace");
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByText("Use at least 12 characters.")).toBeVisible();
    await expect(page.getByLabel("Email", { exact: true })).toHaveValue(email);
    await expect(page.getByLabel("Password", { exact: true })).toHaveValue("");
    await shot(page, "02-signup-error");

    await page.getByLabel("Password", { exact: true }).fill(password);
    const sent = await inboxMark(stack.MAIL_URL, email);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: "Check your email" })).toBeVisible();
    await shot(page, "03-verify");

    const codeEmail = await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent });
    await page.getByLabel("Code", { exact: true }).fill(codeIn(codeEmail));
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect(page).toHaveURL(/\/chat\?welcome=1$/);
    await expect(page.getByText("Welcome to Duet! Your email is confirmed and you're signed in.")).toBeVisible();
    await expect(page.getByRole("heading", { name: "Start a conversation" })).toBeVisible();
    await shot(page, "04-signup-start-a-conversation");
    await page.goto("/profile");
    await expect(page.getByRole("heading", { level: 1, name: "Ada Lovelace" })).toBeVisible();

    await page.getByRole("button", { name: "Sign out", exact: true }).first().click();
    await expect(page).toHaveURL(`${stack.APP_URL}/`);
    await expect(page.getByRole("link", { name: "Sign in" }).first()).toBeVisible();

    await page.goto("/signin");
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByLabel("Email", { exact: true }).fill(email);
    const asked = await inboxMark(stack.MAIL_URL, email);
    await page.getByRole("button", { name: "Send the link" }).click();
    await expect(page.getByRole("heading", { name: "Check your email" })).toBeVisible();
    await shot(page, "05-forgot-sent");

    const resetEmail = await waitForEmail(stack.MAIL_URL, email, { subject: /Reset your Duet password/, since: asked });
    await page.goto(linkIn(resetEmail, "/reset?token="));
    await shot(page, "06-reset");
    await page.getByLabel("New password", { exact: true }).fill("marble comet hums quietly");
    await page.getByRole("button", { name: "Set password and sign in" }).click();
    await expect(page).toHaveURL(/\/profile\?reset=1$/);
    await expect(page.getByRole("status").filter({ hasText: "Your password was changed" })).toBeVisible();

    await page.getByLabel("Name", { exact: true }).fill("Ada King");
    await page.getByLabel("Status", { exact: true }).fill("Counting <numbers> & engines");
    await page.getByRole("button", { name: "Save profile" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Ada King" })).toBeVisible();
    await expect(page.getByText("Counting <numbers> & engines · ")).toBeVisible();
    await expect(page.getByText("This device", { exact: true })).toBeVisible();
    await shot(page, "07-profile-edited");
  });

  test("a second sign-up with the same address, before the code is entered, cannot take the account over", async ({
    browser,
  }) => {
    await forgetSignUpsFromLoopback();
    const email = uniqueEmail("e2e-takeover");
    const victim = await newPage(browser);
    const attacker = await newPage(browser);

    const sent = await inboxMark(stack.MAIL_URL, email);
    await fillSignUp(victim, email, "Victor Victim", "walnut harbour quietly glows");
    const code = codeIn(await waitForEmail(stack.MAIL_URL, email, { subject: /Your Duet code/, since: sent }));

    // Within the code's ten minutes, someone else registers the same address with their own password.
    await fillSignUp(attacker, email, "Mallory", "attacker password of choice");

    await victim.getByLabel("Code", { exact: true }).fill(code);
    await victim.getByRole("button", { name: "Confirm" }).click();
    await expect(victim).toHaveURL(/\/chat\?welcome=1$/);
    await victim.goto("/profile");
    await expect(victim.getByRole("heading", { level: 1, name: "Victor Victim" })).toBeVisible();

    await signIn(attacker, email, "attacker password of choice");
    await expect(attacker.getByText("That email and password don't match an account.")).toBeVisible();
    await shot(attacker, "takeover-refused");

    await victim.getByRole("button", { name: "Sign out", exact: true }).first().click();
    await expect(victim).toHaveURL(`${stack.APP_URL}/`);
    await signIn(victim, email, "walnut harbour quietly glows");
    await expect(victim).toHaveURL(/\/profile$/);
  });
});

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

async function fillSignUp(page: Page, email: string, name: string, password: string) {
  await page.goto("/signup");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Your name", { exact: true }).fill(name);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Check your email" })).toBeVisible();
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto("/signin");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}
