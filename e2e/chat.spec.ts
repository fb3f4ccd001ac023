import { expect, test, type Page } from "@playwright/test";
import { signUpInBrowser } from "./support/accounts.js";

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

test.describe("Alice and Bob chat in two browsers", () => {
  test("they exchange messages, see typing and read receipts, and history survives a reload @responsive", async ({
    browser,
  }, info) => {
    const options = {
      viewport: info.project.use.viewport ?? null,
      isMobile: info.project.use.isMobile,
      hasTouch: info.project.use.hasTouch,
    };
    const aliceContext = await browser.newContext(options);
    const bobContext = await browser.newContext(options);
    const alice = await aliceContext.newPage();
    const bob = await bobContext.newPage();
    const [, bobEmail] = await Promise.all([signUpInBrowser(alice, "Alice Example"), signUpInBrowser(bob, "Bob Example")]);

    await alice.goto("/chat");
    await shot(alice, "01-chat-list-empty");
    await alice.getByLabel("Their email").fill(bobEmail);
    await alice.getByRole("button", { name: "Open chat" }).click();
    await expect(alice.getByRole("heading", { name: "Bob Example", level: 1 })).toBeVisible();
    const roomUrl = alice.url();
    expect(roomUrl).toMatch(/\/chat\/[A-Za-z0-9_-]{22}$/);

    const composer = alice.getByLabel("Message", { exact: true });
    await composer.fill("Hi Bob! <script>alert(1)</script> see https://example.com/plans");
    await composer.press("Enter");
    const sent = alice.locator("li.msg-me").last();
    await expect(sent).toContainText("Hi Bob! <script>alert(1)</script>");
    await expect(sent.locator(".state")).toContainText("Sent");
    await expect(sent.getByRole("link", { name: "https://example.com/plans" })).toHaveAttribute("rel", /noopener/);

    await bob.goto("/chat");
    const row = bob.getByRole("link", { name: /Alice Example/ });
    await expect(row).toContainText("Hi Bob!");
    await expect(row.locator(".unread")).toHaveText("1");
    await shot(bob, "02-chat-list-unread");
    await row.click();
    await expect(bob.locator("li.msg-them").last()).toContainText("Hi Bob! <script>alert(1)</script>");
    await expect(alice.locator("li.msg-me").last().locator(".state")).toContainText("Read");
    await expect(alice.locator("#presence")).toHaveText("online");

    await bob.getByLabel("Message", { exact: true }).pressSequentially("Hey Alice", { delay: 20 });
    await expect(alice.getByText("Bob Example is typing…")).toBeVisible();
    await bob.getByLabel("Message", { exact: true }).press("Enter");
    await expect(alice.locator("li.msg-them").last()).toContainText("Hey Alice");
    await expect(alice.getByText("Bob Example is typing…")).toBeHidden();
    await shot(alice, "03-conversation-alice");
    await shot(bob, "04-conversation-bob");

    await bob.reload();
    await expect(bob.locator("li.msg")).toHaveCount(2);
    await expect(bob.locator("li.msg-them").first()).toContainText("Hi Bob!");
    await expect(bob.locator("li.day").first()).toHaveText("Today");

    await aliceContext.close();
    await bobContext.close();
  });
});
