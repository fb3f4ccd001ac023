import { expect, test } from "@playwright/test";
import { signUpInBrowser } from "./support/accounts.js";
import { openChatWith } from "./support/rooms.js";

test("after Bob deletes his account, Alice's open chat turns read-only: 'Deleted account', a picture, no reply box", async ({
  browser,
}) => {
  const aliceContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();
  const [, bobEmail] = await Promise.all([signUpInBrowser(alice, "Alice Example"), signUpInBrowser(bob, "Bob Leaving")]);

  await openChatWith(alice, bobEmail);
  const composer = alice.getByLabel("Message", { exact: true });
  await composer.fill("Before you go");
  await composer.press("Enter");
  await expect(alice.locator("li.msg-me").last().locator(".state")).toContainText("Sent");

  await bob.goto("/profile");
  await bob.locator("#delete-password").fill("amber lighthouse drifts north");
  await bob.getByRole("button", { name: "Delete my account" }).click();
  await expect(bob).toHaveURL(/\/signin\?deleted=1/);

  // Alice's page is told while it is open; no reload by hand.
  const head = alice.locator(".chat-head");
  await expect(head).toContainText("Deleted account");
  await expect(composer).toBeDisabled();
  await expect(alice.getByText("This account was deleted. You can read the conversation but not reply.")).toBeVisible();
  await expect(alice.locator("li.msg-me").last()).toContainText("Before you go");
  await expect
    .poll(() => head.locator("img.avatar").evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)))
    .toBeGreaterThan(0);
  await alice.screenshot({ path: test.info().outputPath("room-read-only.png"), fullPage: true });

  await alice.goto("/chat");
  const row = alice.getByRole("link", { name: /Deleted account/ });
  await expect(row).toBeVisible();
  await expect
    .poll(() => row.locator("img.avatar").evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)))
    .toBeGreaterThan(0);
  await alice.screenshot({ path: test.info().outputPath("list-deleted-account.png"), fullPage: true });

  await aliceContext.close();
  await bobContext.close();
});
