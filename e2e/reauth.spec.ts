import { AxeBuilder } from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { uniqueEmail } from "../scripts/lib/mailbox.js";
import { readStackEnv } from "../scripts/lib/stack-env.js";

const stack = readStackEnv();

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

/** Fills the stand-in provider's sign-in form, as a person would at Google. */
async function signInAtProvider(page: Page, email: string) {
  await expect(page).toHaveURL(new RegExp(`^${stack.OIDC_URL}/interaction/`));
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Name", { exact: true }).fill("Rhea Auth");
  await page.getByRole("button", { name: "Next" }).click();
}

test.describe("confirming it's you before a sensitive change, in a real browser", () => {
  test("a Google-only account confirms with Google, then sets a password and deletes itself without one @responsive", async ({
    page,
  }) => {
    const email = uniqueEmail("e2e-reauth");
    await page.goto("/signin");
    await page.getByRole("link", { name: "Continue with Google" }).click();
    await signInAtProvider(page, email);
    await expect(page).toHaveURL(/\/profile\?googleWelcome=1$/);

    // Nothing sensitive yet: the forms ask to confirm with Google instead of a password it does not have.
    const deleteCard = page.getByRole("region", { name: "Delete account" });
    await deleteCard.getByRole("button", { name: "Delete my account" }).click();
    await expect(page.getByRole("region", { name: "Delete account" }).getByRole("alert")).toContainText(
      "Confirm it's you with Google first",
    );
    await shot(page, "01-confirm-with-google");
    const { violations } = await new AxeBuilder({ page: page }).analyze();
    expect(violations.filter((v) => v.impact === "critical" || v.impact === "serious").map((v) => v.id)).toEqual([]);

    // Google is asked to sign in again (prompt=login), even though this browser has a session there.
    await page.getByRole("region", { name: "Delete account" }).getByRole("link", { name: "Confirm with Google" }).click();
    await signInAtProvider(page, email);
    await expect(page).toHaveURL(`${stack.APP_URL}/profile`);
    await expect(page.getByRole("region", { name: "Password" })).toContainText("You confirmed it's you in the last 10 minutes");
    await shot(page, "02-confirmed");

    await page.getByLabel("New password", { exact: true }).fill("juniper canyon sings softly");
    await page.getByRole("button", { name: "Set password" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Your password was changed" })).toBeVisible();

    await page.getByRole("region", { name: "Delete account" }).getByRole("button", { name: "Delete my account" }).click();
    await expect(page).toHaveURL(/\/signin\?deleted=1$/);
    await expect(page.getByText("Your account and its data were deleted.")).toBeVisible();
  });
});
