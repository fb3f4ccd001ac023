import { expect, test, type Page } from "@playwright/test";
import { uniqueEmail } from "../scripts/lib/mailbox.js";
import { readStackEnv } from "../scripts/lib/stack-env.js";

const stack = readStackEnv();

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

test.describe("Continue with Google, against the stack's own OpenID provider, through nginx over https", () => {
  test("a new user signs in at the provider and lands signed in with the profile from the claims @responsive", async ({
    page,
  }) => {
    const email = uniqueEmail("e2e-google");
    await page.goto("/signin");
    await shot(page, "01-signin-with-google");
    await page.getByRole("link", { name: "Continue with Google" }).click();

    // The real provider's sign-in page, on its own origin.
    await expect(page).toHaveURL(new RegExp(`^${stack.OIDC_URL}/interaction/`));
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Name", { exact: true }).fill("Grace Hopper");
    await shot(page, "02-provider-sign-in");
    await page.getByRole("button", { name: "Next" }).click();

    await expect(page).toHaveURL(`${stack.APP_URL}/profile?googleWelcome=1`);
    await expect(page.getByRole("heading", { level: 1, name: "Grace Hopper" })).toBeVisible();
    await expect(page.getByRole("status").filter({ hasText: "You're signed in with Google" })).toBeVisible();
    await expect(page.getByText(`No status yet · ${email}`)).toBeVisible();
    await expect(page.getByText("Your Google account is linked")).toBeVisible();
    // The provider's picture, re-encoded and served by Duet.
    const avatar = page.locator("img.avatar-large");
    await expect(avatar).toHaveAttribute("src", /\?v=1$/);
    expect(await avatar.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await shot(page, "03-profile-from-google");

    // Signed out of Duet and back in with Google: the provider remembers this browser (as Google
    // does), so it comes straight back to the same account, without a second welcome.
    await page.getByRole("button", { name: "Sign out", exact: true }).first().click();
    await expect(page).toHaveURL(`${stack.APP_URL}/`);
    await page.goto("/signin");
    await page.getByRole("link", { name: "Continue with Google" }).click();
    await expect(page).toHaveURL(`${stack.APP_URL}/profile`);
    await expect(page.getByRole("heading", { level: 1, name: "Grace Hopper" })).toBeVisible();
  });

  test("cancelling at the provider ends on a clear page with a way back", async ({ page }) => {
    await page.goto("/signup");
    await page.getByRole("link", { name: "Continue with Google" }).click();
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByRole("heading", { name: "You cancelled signing in with Google" })).toBeVisible();
    await shot(page, "04-cancelled");
    await page.getByRole("link", { name: "Sign in another way" }).click();
    await expect(page).toHaveURL(`${stack.APP_URL}/signin`);
  });
});
