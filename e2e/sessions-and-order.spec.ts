import { expect, test, type Browser, type Page } from "@playwright/test";
import { signUpInBrowser } from "./support/accounts.js";
import { live, openChatWith } from "./support/rooms.js";

const PASSWORD = "amber lighthouse drifts north";

async function twoUsersInARoom(browser: Browser) {
  const aliceContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();
  const [aliceEmail, bobEmail] = await Promise.all([signUpInBrowser(alice, "Alice Order"), signUpInBrowser(bob, "Bob Order")]);
  const roomUrl = await openChatWith(alice, bobEmail);
  await bob.goto(roomUrl);
  await live(alice);
  await live(bob);
  return { alice, bob, aliceEmail, bobEmail, roomUrl, close: () => Promise.all([aliceContext.close(), bobContext.close()]) };
}

const texts = (page: Page, side: "me" | "them") => page.locator(`li.msg-${side} .text`).allTextContents();

test.describe("order and sessions in the browser", () => {
  test("60 messages typed quickly arrive in order on both sides, and the composer says when the limit holds them", async ({
    browser,
  }) => {
    test.setTimeout(90_000);
    const { alice, bob, close } = await twoUsersInARoom(browser);
    const composer = alice.getByLabel("Message", { exact: true });
    const typed = Array.from({ length: 60 }, (_, i) => `quick ${String(i + 1).padStart(2, "0")}`);
    await composer.focus();
    // Typed and sent with Enter inside the page, one after another: through Playwright's own
    // fill and press each takes ~0.2 s, so 60 take longer than the limit's 10 s window.
    await alice.evaluate((texts) => {
      const box = document.activeElement as HTMLTextAreaElement;
      for (const text of texts) {
        box.value = text;
        box.dispatchEvent(new Event("input", { bubbles: true }));
        box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
      }
    }, typed);
    await expect(alice.locator("#composer-note")).toContainText("sending too fast");
    await alice.screenshot({ path: test.info().outputPath("composer-note.png") });
    await expect(alice.locator("li.msg-me .state-sent, li.msg-me .state-read")).toHaveCount(60, { timeout: 60_000 });
    expect(await texts(alice, "me")).toEqual(typed);
    await expect(bob.locator("li.msg-them")).toHaveCount(60);
    expect(await texts(bob, "them")).toEqual(typed);
    await expect(alice.locator("#composer-note")).toBeHidden();
    let replayed = 0;
    bob.on("websocket", (ws) =>
      ws.on("framereceived", (frame) => {
        if (typeof frame.payload === "string" && frame.payload.startsWith('{"type":"message"')) replayed++;
      }),
    );
    await bob.reload();
    // Opened at the newest page of history (50), not replayed whole over the socket.
    await expect(bob.locator("li.msg-them")).toHaveCount(50);
    expect(await texts(bob, "them")).toEqual(typed.slice(-50));
    await expect(bob.locator("#chat")).toHaveAttribute("data-state", "live");
    expect(replayed, "messages sent again over the socket on opening").toBe(0);
    await close();
  });

  test("a chat tab whose session is signed out elsewhere goes to the sign-in page; signing out clears unsent messages", async ({
    browser,
  }) => {
    const { alice, aliceEmail, roomUrl, close } = await twoUsersInARoom(browser);
    // Alice on a second computer, chat open.
    const laptopContext = await browser.newContext();
    const laptop = await laptopContext.newPage();
    await laptop.goto("/signin");
    await laptop.getByLabel("Email", { exact: true }).fill(aliceEmail);
    await laptop.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await laptop.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(laptop).toHaveURL(/\/profile/);
    await laptop.goto(roomUrl);
    await expect(laptop.locator("#chat")).toHaveAttribute("data-state", "live");

    await alice.goto("/profile");
    await alice.getByRole("button", { name: /Sign out (all )?other sessions/ }).click();
    await expect(laptop).toHaveURL(/\/signin\?next=/, { timeout: 5_000 });

    // A message queued in this browser (the page keeps unsent ones in localStorage).
    await alice.goto(roomUrl);
    await alice.evaluate(() =>
      localStorage.setItem(
        "duet:outbox:probe",
        JSON.stringify([{ clientId: "x", text: "secret", at: new Date().toISOString() }]),
      ),
    );
    await alice.goto("/profile");
    await alice.locator("form.profile-signout button").click();
    await expect(alice).toHaveURL(/\/$/);
    expect(await alice.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("duet:outbox:")))).toEqual([]);
    await laptopContext.close();
    await close();
  });
});
