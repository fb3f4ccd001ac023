/**
 * The messenger basics that were broken (issue #14): a live conversation list, navigation on
 * phones, keyboard actions on messages, the offline state, local times, and the layout of short
 * messages and the composer. Two (or three) real users in separate browsers, through nginx.
 */
import { expect, test, type Page } from "@playwright/test";
import { signUpInBrowser } from "./support/accounts.js";
import { contextFor, live, openChatWith, send, twoInARoom } from "./support/rooms.js";

const row = (page: Page, name: RegExp) => page.locator("#conversations .conversation").filter({ hasText: name });

test.describe("the messenger", () => {
  test("the other member's list shows new conversations, previews, badges and order without a reload, in local time @responsive", async ({
    browser,
  }, info) => {
    test.setTimeout(60_000);
    // Bob is fourteen hours ahead of UTC: a list in UTC would disagree with his bubbles.
    const bobContext = await browser.newContext(contextFor(info, { timezoneId: "Pacific/Kiritimati" }));
    const aliceContext = await browser.newContext(contextFor(info));
    const carolContext = await browser.newContext(contextFor(info));
    const [bob, alice, carol] = await Promise.all([bobContext.newPage(), aliceContext.newPage(), carolContext.newPage()]);
    const [bobEmail] = await Promise.all([
      signUpInBrowser(bob, "Bob Live"),
      signUpInBrowser(alice, "Alice Live"),
      signUpInBrowser(carol, "Carol Live"),
    ]);
    await bob.goto("/chat");
    await expect(bob.locator("#conversations")).toHaveAttribute("data-live", "true");
    let reloads = 0;
    bob.on("load", () => reloads++);

    await openChatWith(alice, bobEmail);
    await live(alice);
    await send(alice, "first from Alice");
    const aliceRow = row(bob, /Alice Live/);
    await expect(aliceRow).toContainText("first from Alice");
    await expect(aliceRow.locator(".unread")).toHaveText("1");

    await openChatWith(carol, bobEmail);
    await live(carol);
    await send(carol, "hello from Carol");
    await expect(bob.locator("#conversations .conversation").first()).toContainText("hello from Carol");

    await send(alice, "second from Alice");
    await expect(bob.locator("#conversations .conversation").first()).toContainText("second from Alice");
    await expect(aliceRow.locator(".unread")).toHaveText("2");
    await expect(row(bob, /Carol Live/).locator(".unread")).toHaveText("1");
    expect(reloads, "Bob's page was never reloaded").toBe(0);

    // Times: the list and the bubbles agree, in Bob's zone, with no "UTC".
    const listTime = (await aliceRow.locator("time").textContent()) ?? "";
    expect(listTime).not.toContain("UTC");
    await bob.screenshot({ path: info.outputPath("list-live.png") });
    await aliceRow.click();
    await live(bob);
    const bubbleTime = await bob.locator("li.msg-them").last().locator("time").textContent();
    expect(listTime).toBe(bubbleTime);
    const hour = await bob.evaluate(() => new Date().getHours());
    expect(listTime).toContain(String(hour % 12 || 12).padStart(2, "0"));

    // Reading it clears the badge on Bob's list in another tab (his own read, live).
    const second = await bobContext.newPage();
    await second.goto("/chat");
    await expect(row(second, /Alice Live/).locator(".unread")).toHaveCount(0);
    await send(alice, "third from Alice");
    await expect(row(second, /Alice Live/)).toContainText("third from Alice");
    await Promise.all([bobContext.close(), aliceContext.close(), carolContext.close()]);
  });

  test("on a phone the header has a menu that reaches the profile and signs out, by keyboard too @responsive", async ({
    browser,
  }, info) => {
    const context = await browser.newContext(contextFor(info));
    const page = await context.newPage();
    await signUpInBrowser(page, "Pat Phone");
    await page.goto("/chat");
    const menu = page.getByRole("navigation", { name: "Account" }).getByLabel("Menu");
    await expect(menu).toBeVisible();
    await menu.click();
    await page.screenshot({ path: info.outputPath("menu-open.png") });
    await expect(page.getByRole("link", { name: /Profile/ })).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(page.getByRole("link", { name: /Profile/ })).toBeHidden();
    await expect(menu).toBeFocused();
    await page.keyboard.press("Enter");
    await page.getByRole("link", { name: /Profile/ }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await menu.click();
    await page.locator(".nav-menu").getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/$/);
    await page.goto("/chat");
    await expect(page).toHaveURL(/\/signin/);
    await context.close();
  });

  test("keyboard only: the list takes focus and pages, actions open with Enter and close with Escape, edit in place, delete with an in-app confirmation", async ({
    browser,
  }, info) => {
    test.setTimeout(60_000);
    const { alice, bob, close } = await twoInARoom(browser, info, ["Alice Keys", "Bob Keys"]);
    const nativeDialogs: string[] = [];
    alice.on("dialog", (dialog) => {
      nativeDialogs.push(dialog.type());
      void dialog.dismiss();
    });
    const composer = alice.getByLabel("Message", { exact: true });
    for (let i = 1; i <= 30; i++) {
      await composer.fill(`line ${i}`);
      await composer.press("Enter");
    }
    await expect(alice.locator("li.msg-me .state-sent, li.msg-me .state-read")).toHaveCount(30, { timeout: 20_000 });
    await expect(bob.locator("li.msg-them")).toHaveCount(30);

    // Shift+Tab from the composer passes the attach button, then lands on the message list: a
    // focusable log.
    await composer.focus();
    await alice.keyboard.press("Shift+Tab");
    await expect(alice.getByRole("button", { name: "Record a voice note" })).toBeFocused();
    await alice.keyboard.press("Shift+Tab");
    await expect(alice.getByRole("button", { name: "Attach files" })).toBeFocused();
    await alice.keyboard.press("Shift+Tab");
    const log = alice.getByRole("log");
    await expect(log).toBeFocused();
    const bottom = await log.evaluate((el) => el.scrollTop);
    await alice.keyboard.press("PageUp");
    await expect.poll(() => log.evaluate((el) => el.scrollTop)).toBeLessThan(bottom);
    await alice.keyboard.press("End");

    // Arrow up to the last message; Enter opens its actions; Escape closes them.
    await alice.keyboard.press("ArrowUp");
    const last = alice.locator("li.msg-me").last();
    await expect(last).toBeFocused();
    await alice.keyboard.press("Enter");
    const menu = alice.getByRole("menu", { name: "Message actions" });
    await expect(menu).toBeVisible();
    await expect(menu.getByRole("menuitem").first()).toBeFocused();
    await alice.keyboard.press("Escape");
    await expect(menu).toBeHidden();
    await expect(last).toBeFocused();

    // Edit in place: the menu reads Reply, React…, Copy text, Edit, Delete; Edit is fourth.
    await alice.keyboard.press("Enter");
    for (let i = 0; i < 3; i++) await alice.keyboard.press("ArrowDown");
    await expect(menu.getByRole("menuitem", { name: "Edit" })).toBeFocused();
    await alice.keyboard.press("Enter");
    const editBox = alice.getByLabel("Edit message");
    await expect(editBox).toBeFocused();
    await expect(editBox).toHaveValue("line 30");
    await alice.screenshot({ path: info.outputPath("edit-in-place.png") });
    await alice.keyboard.press("Escape");
    await expect(editBox).toBeHidden();
    await expect(last).toBeFocused();
    await alice.keyboard.press("Enter");
    for (let i = 0; i < 3; i++) await alice.keyboard.press("ArrowDown");
    await expect(menu.getByRole("menuitem", { name: "Edit" })).toBeFocused();
    await alice.keyboard.press("Enter");
    await alice.keyboard.type(" (changed)");
    await alice.keyboard.press("Enter");
    await expect(last.locator(".text")).toHaveText("line 30 (changed)");
    await expect(bob.locator("li.msg-them").last()).toContainText("line 30 (changed)");
    await expect(bob.locator("li.msg-them").last()).toContainText("edited");

    // Delete: an in-app dialog; Escape keeps the message, confirming deletes it on both sides.
    await expect(last).toBeFocused();
    await alice.keyboard.press("Enter");
    await alice.keyboard.press("ArrowUp");
    await expect(menu.getByRole("menuitem", { name: "Delete" })).toBeFocused();
    await alice.keyboard.press("Enter");
    const dialog = alice.getByRole("dialog", { name: "Delete this message?" });
    await expect(dialog).toBeVisible();
    await alice.screenshot({ path: info.outputPath("delete-confirm.png") });
    await alice.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(last.locator(".text")).toHaveText("line 30 (changed)");
    await expect(last).toBeFocused();
    await alice.keyboard.press("Enter");
    await alice.keyboard.press("ArrowUp");
    await alice.keyboard.press("Enter");
    await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
    await alice.keyboard.press("Tab");
    await expect(dialog.getByRole("button", { name: "Delete" })).toBeFocused();
    await alice.keyboard.press("Enter");
    await expect(last.locator(".text")).toHaveText("Message deleted");
    await expect(bob.locator("li.msg-them").last()).toContainText("Message deleted");
    expect(nativeDialogs, "no window.prompt or window.confirm").toEqual([]);
    await close();
  });

  test("offline: a banner says so, a message written meanwhile visibly waits, and goes when the network is back @responsive", async ({
    browser,
  }, info) => {
    const { alice, bob, aliceContext, close } = await twoInARoom(browser, info, ["Alice Offline", "Bob Offline"]);
    const banner = alice.locator("#connection");
    await expect(banner).toBeHidden();
    await aliceContext.setOffline(true);
    await expect(banner).toBeVisible();
    await expect(banner).toContainText("You're offline");
    await expect(alice.locator("#chat")).toHaveAttribute("data-state", "offline");
    const composer = alice.getByLabel("Message", { exact: true });
    await composer.fill("written on the train");
    await composer.press("Enter");
    const waiting = alice.locator("li.msg-me").last();
    await expect(waiting.locator(".state")).toContainText("Waiting for connection");
    await expect(banner).toContainText("1 message is waiting to be sent");
    await alice.screenshot({ path: info.outputPath("offline.png") });
    await aliceContext.setOffline(false);
    await expect(banner).toBeHidden();
    // Sent, and at once read: Bob has the conversation open.
    await expect(waiting.locator(".state")).toContainText(/Sent|Read/);
    await expect(bob.locator("li.msg-them").last()).toContainText("written on the train");
    await close();
  });

  test("short messages stay on one line and the composer grows to about six lines", async ({ browser }, info) => {
    const { alice, bob, close } = await twoInARoom(browser, info, ["Alice Layout", "Bob Layout"]);
    await send(alice, "Sounds good, see you at the station tomorrow at nine");
    const bubble = bob.locator("li.msg-them .bubble").last();
    await expect(bubble).toBeVisible();
    const lineHeight = await bubble.evaluate((el) => parseFloat(getComputedStyle(el.querySelector(".text") ?? el).lineHeight));
    const box = await bubble.boundingBox();
    expect(box?.height ?? 0, "one line of text with its time").toBeLessThan(lineHeight * 2.2);

    const composer = bob.getByLabel("Message", { exact: true });
    const oneLine = (await composer.boundingBox())?.height ?? 0;
    await composer.fill("1\n2\n3");
    const threeLines = (await composer.boundingBox())?.height ?? 0;
    await composer.fill(Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join("\n"));
    const twelveLines = (await composer.boundingBox())?.height ?? 0;
    expect(threeLines).toBeGreaterThan(oneLine * 1.8);
    expect(twelveLines).toBeGreaterThan(threeLines * 1.6);
    expect(twelveLines, "stops growing at about six lines").toBeLessThan(oneLine * 4.5);
    await bob.screenshot({ path: info.outputPath("composer-grown.png") });

    // Near the limit a counter appears.
    await composer.fill("x".repeat(3700));
    await expect(bob.locator("#composer-count")).toHaveText("3,700 / 4,000");
    await composer.fill("short");
    await expect(bob.locator("#composer-count")).toBeHidden();
    await close();
  });

  test("the list sits beside the conversation on desktop: a URL per conversation, back and forward, the open one marked, badges live @responsive", async ({
    browser,
  }, info) => {
    test.setTimeout(90_000);
    const { alice, bob, aliceEmail, roomUrl, close } = await twoInARoom(browser, info, ["Alice Shell", "Bob Shell"]);
    const carolContext = await browser.newContext(contextFor(info));
    const carol = await carolContext.newPage();
    await signUpInBrowser(carol, `Carol Shell ${info.project.name}`);
    const carolRoom = await openChatWith(carol, aliceEmail);
    await live(carol);
    await send(carol, "hi from Carol");
    await send(bob, "hi from Bob");

    const phone = info.project.name === "phone";
    await alice.goto(roomUrl);
    await live(alice);
    const side = alice.getByRole("navigation", { name: "Chats" });
    if (phone) {
      // One pane at a time: no list beside the conversation, a way back to it instead.
      await expect(side).toBeHidden();
      await alice.getByRole("link", { name: "All chats" }).click();
      await expect(alice).toHaveURL(/\/chat$/);
      await row(alice, /Carol Shell/).click();
      await expect(alice).toHaveURL(carolRoom);
      await alice.goBack();
      await expect(alice).toHaveURL(/\/chat$/);
      await carolContext.close();
      await close();
      return;
    }
    await expect(side).toBeVisible();
    await expect(side.locator('[aria-current="page"]')).toContainText("Bob Shell");
    await alice.screenshot({ path: info.outputPath("shell-desktop.png") });
    await side.getByRole("link", { name: /Carol Shell/ }).click();
    await expect(alice).toHaveURL(carolRoom);
    await expect(alice.getByRole("heading", { level: 1 })).toContainText("Carol Shell");
    await expect(side.locator('[aria-current="page"]')).toContainText("Carol Shell");
    await alice.goBack();
    await expect(alice).toHaveURL(roomUrl);
    await expect(alice.getByRole("heading", { level: 1 })).toContainText("Bob Shell");
    await alice.goForward();
    await expect(alice).toHaveURL(carolRoom);
    await live(alice);
    // A message in the other conversation shows in the side list at once.
    await send(bob, "are you there?");
    await expect(side.getByRole("link", { name: /Bob Shell/ })).toContainText("are you there?");
    // Alice read "hi from Bob" when she had Bob's conversation open: one unread.
    await expect(side.getByRole("link", { name: /Bob Shell/ }).locator(".unread")).toHaveText("1");
    await carolContext.close();
    await close();
  });

  test("a theme toggle (system by default, kept in the browser), drafts kept per conversation, and a jump to the newest with a count", async ({
    browser,
  }, info) => {
    test.setTimeout(90_000);
    const { alice, bob, roomUrl, close } = await twoInARoom(browser, info, ["Alice Extras", "Bob Extras"]);
    const html = bob.locator("html");
    await expect(html).not.toHaveAttribute("data-theme", /./);
    const toggle = bob.getByRole("button", { name: /Colour theme: system/ });
    await toggle.click();
    await expect(html).toHaveAttribute("data-theme", "light");
    await bob.getByRole("button", { name: /Colour theme: light/ }).click();
    await expect(html).toHaveAttribute("data-theme", "dark");
    const background = () => bob.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await background()).toBe("rgb(17, 17, 24)");
    await bob.reload();
    await expect(html).toHaveAttribute("data-theme", "dark");
    expect(await background(), "dark from the first paint after a reload").toBe("rgb(17, 17, 24)");
    await bob.getByRole("button", { name: /Colour theme: dark/ }).click();
    await expect(html).not.toHaveAttribute("data-theme", /./);

    // A draft survives leaving the conversation and coming back.
    await live(bob);
    await bob.getByLabel("Message", { exact: true }).fill("half a thought");
    await bob.goto("/chat");
    await bob.goto(roomUrl);
    await expect(bob.getByLabel("Message", { exact: true })).toHaveValue("half a thought");
    await bob.getByLabel("Message", { exact: true }).fill("");
    await live(bob);

    // Bob reads far up; new messages from Alice are counted on the jump button.
    const composer = alice.getByLabel("Message", { exact: true });
    for (let i = 1; i <= 30; i++) {
      await composer.fill(`filler ${i}`);
      await composer.press("Enter");
    }
    await expect(bob.locator("li.msg-them")).toHaveCount(30, { timeout: 20_000 });
    await bob.getByRole("log").evaluate((el) => (el.scrollTop = 0));
    const jump = bob.locator("#jump-latest");
    await expect(jump).toBeVisible();
    await send(alice, "news 1");
    await send(alice, "news 2");
    await expect(jump).toHaveAccessibleName("Jump to the newest messages (2 new)");
    await expect(bob.locator("#jump-count")).toHaveText("2");
    await bob.screenshot({ path: info.outputPath("jump-count.png") });
    await jump.click();
    await expect(jump).toBeHidden();
    await expect(bob.locator("li.msg-them").last()).toBeInViewport();
    await close();
  });
});
