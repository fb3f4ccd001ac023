import { AxeBuilder } from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { inboxMark, linkIn, waitForEmail } from "../scripts/lib/mailbox.js";
import { readStackEnv } from "../scripts/lib/stack-env.js";
import { PASSWORD, signUpInBrowser } from "./support/accounts.js";

const stack = readStackEnv();

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

test.describe("sign-in alerts and the sessions list, in real browsers", () => {
  test("a sign-in from a new browser is emailed; its link lists the sessions, and the other one is signed out @responsive", async ({
    browser,
  }) => {
    const home = await (await browser.newContext()).newPage();
    const email = await signUpInBrowser(home, "Sam Sessions");

    // Another browser (a new context has its own cookies: a browser this account has not used).
    const away = await (await browser.newContext()).newPage();
    const since = await inboxMark(stack.MAIL_URL, email);
    await away.goto("/signin");
    await away.getByLabel("Email", { exact: true }).fill(email);
    await away.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await away.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(away).toHaveURL(/\/profile$/);

    const alert = await waitForEmail(stack.MAIL_URL, email, { subject: /New sign-in to your Duet account/, since });
    expect(alert.text).toMatch(/Browser: Chrome on (Windows|Android|Linux)/);
    // Home is on /profile already: going to /profile#sessions only scrolls; the link from the
    // email opens a fresh page, so load it again.
    await home.goto(linkIn(alert, "/profile#sessions"));
    await home.reload();
    const sessions = home.getByRole("region", { name: "Where you're signed in" });
    await expect(sessions.getByRole("listitem")).toHaveCount(2);
    await expect(sessions.getByText("This device")).toHaveCount(1);
    await expect(sessions.getByText(/Browser first seen .* UTC · signed in .* UTC · last active/)).toHaveCount(2);
    await shot(home, "01-sessions");
    const { violations } = await new AxeBuilder({ page: home }).analyze();
    expect(violations.filter((v) => v.impact === "critical" || v.impact === "serious").map((v) => v.id)).toEqual([]);

    await sessions.getByRole("listitem").filter({ hasNotText: "This device" }).getByRole("button", { name: "Sign out" }).click();
    await expect(home.getByRole("status").filter({ hasText: "Those sessions were signed out." })).toBeVisible();
    await expect(home.getByRole("region", { name: "Where you're signed in" }).getByRole("listitem")).toHaveCount(1);
    await away.reload();
    await expect(away).toHaveURL(/\/signin\?next=%2Fprofile$/);
  });
});
