/**
 * The conversation list's rows (issue #14): Archive and Unarchive on the row itself, by keyboard,
 * announced, the focus kept where the row was; and each row's presence dot live whichever of their
 * conversations the other person opened. axe-core and screenshots (light and dark).
 */
import { expect, test } from "@playwright/test";
import { signedUpUser, startConversation } from "../src/test/factories.js";
import { auditBothThemes } from "./support/axe.js";
import { live, twoInARoom } from "./support/rooms.js";

test("archive and unarchive on the list's rows by keyboard, announced; presence live for every conversation @responsive", async ({
  browser,
}, info) => {
  test.setTimeout(90_000);
  const { alice, bob, bobEmail, aliceEmail, close } = await twoInARoom(browser, info, ["Alice Rows", "Bob Rows"]);
  try {
    const carol = await signedUpUser(`carol-rows-${info.project.name}`);
    await startConversation(carol.browser, aliceEmail);
    const bobAndCarol = await startConversation(carol.browser, bobEmail);
    const bobName = `Bob Rows ${info.project.name}`;
    await alice.goto("/chat");
    const bobRow = alice.locator("li.conversation-row").filter({ hasText: bobName });
    const carolRow = alice.locator("li.conversation-row").filter({ hasText: "carol-rows" });
    await expect(carolRow).toHaveCount(1);

    // Presence: Bob leaves, then opens his conversation with Carol, not Alice's: his dot follows.
    await bob.goto("/profile");
    await expect(bobRow.locator(".avatar-wrap")).toHaveAttribute("data-presence", "offline");
    await bob.goto(`/chat/${bobAndCarol}`);
    await live(bob);
    await expect(bobRow.locator(".avatar-wrap")).toHaveAttribute("data-presence", "online");
    await expect(bobRow).toContainText("(online)");

    // Keyboard: from Bob's row to its Archive button; Enter archives it in place, and says so.
    await bobRow.getByRole("link").focus();
    await alice.keyboard.press("Tab");
    const archive = alice.getByRole("button", { name: `Archive the conversation with ${bobName}` });
    await expect(archive).toBeFocused();
    await expect(archive).toBeVisible();
    await alice.screenshot({ path: info.outputPath("row-action-focused.png") });
    await alice.keyboard.press("Enter");
    await expect(alice.locator("#list-status")).toHaveText(`Archived the conversation with ${bobName}.`);
    await expect(alice).toHaveURL(/\/chat$/);
    const archived = alice.locator("details.archived");
    await expect(archived.locator("summary")).toHaveText("Archived (1)");
    // The row now in its place has the focus: Carol's.
    await expect(carolRow.getByRole("link")).toBeFocused();
    const violations = await auditBothThemes(alice, "list-row-actions", { fullPage: true });

    // Unarchive from the Archived section, by keyboard too: back in the list, focused.
    await archived.locator("summary").focus();
    await alice.keyboard.press("Enter");
    await alice.keyboard.press("Tab");
    await alice.keyboard.press("Tab");
    await expect(alice.getByRole("button", { name: `Unarchive the conversation with ${bobName}` })).toBeFocused();
    await alice.keyboard.press("Enter");
    await expect(alice.locator("#list-status")).toHaveText(`The conversation with ${bobName} is back in your chats.`);
    await expect(archived).toHaveCount(0);
    await expect(bobRow.getByRole("link")).toBeFocused();
    expect(violations).toEqual([]);
  } finally {
    await close();
  }
});
