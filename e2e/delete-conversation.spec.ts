import { expect, test } from "@playwright/test";
import { signUpInBrowser } from "./support/accounts.js";
import { openChatWith } from "./support/rooms.js";

test("deleting a conversation for both: a confirmation that names the other person, and their open window closes", async ({
  browser,
}) => {
  const aliceContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();
  const [, bobEmail] = await Promise.all([signUpInBrowser(alice, "Alice Shred"), signUpInBrowser(bob, "Bob Shred")]);
  const roomUrl = await openChatWith(alice, bobEmail);
  await bob.goto(roomUrl);
  await expect(bob.locator("#chat")).toHaveAttribute("data-state", "live");
  const composer = alice.getByLabel("Message", { exact: true });
  await composer.fill("this will be shredded");
  await composer.press("Enter");
  await expect(bob.locator("li.msg-them .text")).toHaveText(["this will be shredded"]);

  await alice.getByText("More").click();
  await alice.getByRole("link", { name: "Delete for both of us…" }).click();
  await expect(alice.getByRole("heading", { level: 1 })).toHaveText("Delete this conversation for both of you?");
  await expect(alice.getByText("Bob Shred too")).toBeVisible();
  await alice.screenshot({ path: test.info().outputPath("delete-confirmation.png") });
  // Changing one's mind goes back to the conversation, untouched.
  await alice.getByRole("link", { name: "Keep the conversation" }).click();
  await expect(alice).toHaveURL(roomUrl);
  await expect(alice.locator("li.msg-me .text")).toHaveText(["this will be shredded"]);

  await alice.goto(`${roomUrl}/delete`);
  await alice.getByRole("button", { name: "Delete for both of us" }).click();
  await expect(alice.getByRole("status").filter({ hasText: "The conversation was deleted for both of you." })).toBeVisible();
  await expect(bob).toHaveURL(/\/chat$/);
  await expect(bob.getByText("this will be shredded")).toHaveCount(0);
  expect((await bob.goto(roomUrl))?.status()).toBe(404);
  await Promise.all([aliceContext.close(), bobContext.close()]);
});
