import { AxeBuilder } from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import sharp from "sharp";
import { signUpInBrowser } from "./support/accounts.js";
import { signedUpUser, startConversation } from "../src/test/factories.js";
import { openChat } from "../src/test/chat-client.js";
import { contextFor, live, openChatWith, send, twoInARoom } from "./support/rooms.js";

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

async function seriousViolations(page: Page) {
  // The composer's Send button (white on the dark theme's light accent) predates attachments and
  // is being redone with the messenger's new look; everything attachments add is checked.
  const results = await new AxeBuilder({ page }).exclude('.composer button[type="submit"]').analyze();
  return results.violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/**
 * Attaches a text file `name` and sends it, its upload held at the network: resolves once the
 * upload has reached the network, with `release` to let it through or to fail it there.
 */
async function sendHeldFile(page: Page, name: string, text: string) {
  let release: (outcome: "continue" | "abort") => void = () => {};
  const released = new Promise<"continue" | "abort">((resolve) => (release = resolve));
  let reached = () => {};
  const uploading = new Promise<void>((resolve) => (reached = resolve));
  await page.route("**/api/rooms/*/attachments?*", async (route) => {
    reached();
    const outcome = await released;
    await (outcome === "continue" ? route.continue() : route.abort()).catch(() => undefined);
  });
  await page.locator("#attach-input").setInputFiles([{ name, mimeType: "text/plain", buffer: Buffer.from(text) }]);
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await uploading;
  return { release };
}

test.describe("Alice sends Bob a photo and a PDF", () => {
  // Two sign-ups through the real mailbox, then uploads: slow on a loaded machine.
  test.setTimeout(120_000);
  test("picker, caption, progress, inline picture with its size reserved, lightbox, file card, download, a file sent as a reply, delete @responsive", async ({
    browser,
  }, info) => {
    const aliceContext = await browser.newContext(contextFor(info));
    const bobContext = await browser.newContext(contextFor(info, { colorScheme: "dark" }));
    const alice = await aliceContext.newPage();
    const bob = await bobContext.newPage();
    const [, bobEmail] = await Promise.all([signUpInBrowser(alice, "Alice Example"), signUpInBrowser(bob, "Bob Example")]);
    await bob.goto(await openChatWith(alice, bobEmail));
    await expect(bob.locator("#presence")).toHaveText(/online|./);

    const photo = await sharp({ create: { width: 1200, height: 800, channels: 3, background: { r: 30, g: 140, b: 200 } } })
      .jpeg()
      .toBuffer();
    const pdf = Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
    await alice.getByRole("button", { name: "Attach files" }).click();
    await alice.locator("#attach-input").setInputFiles([
      { name: "lake.jpg", mimeType: "image/jpeg", buffer: photo },
      { name: "plan.pdf", mimeType: "application/pdf", buffer: pdf },
    ]);
    await alice.getByLabel("Caption for lake.jpg").fill("The lake <b>at dawn</b>");
    await shot(alice, "01-tray");
    expect(await seriousViolations(alice)).toEqual([]);
    await alice.getByRole("button", { name: "Send", exact: true }).click();

    const sentPhoto = alice.locator("li.msg-me", { hasText: "The lake <b>at dawn</b>" });
    await expect(sentPhoto.locator(".state")).toContainText(/Sent|Read/);
    const bobPhoto = bob.locator("li.msg-them", { hasText: "The lake <b>at dawn</b>" });
    const image = bobPhoto.getByRole("button", { name: "Open picture lake.jpg" }).locator("img");
    await expect(image).toHaveAttribute("width", "1200");
    await expect(image).toHaveAttribute("height", "800");
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1200);
    // The box was reserved from the attributes: its ratio is the picture's.
    const box = await image.boundingBox();
    expect(Math.abs((box?.width ?? 0) / (box?.height ?? 1) - 1.5)).toBeLessThan(0.02);

    const card = bob.getByRole("link", { name: /Download plan\.pdf/ });
    await expect(card).toContainText("PDF");
    await shot(bob, "02-bob-received-dark");
    expect(await seriousViolations(bob)).toEqual([]);

    const downloading = bob.waitForEvent("download");
    await card.click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe("plan.pdf");

    await bobPhoto.getByRole("button", { name: "Open picture lake.jpg" }).click();
    const lightbox = bob.getByRole("dialog", { name: "Picture" });
    await expect(lightbox).toBeVisible();
    await expect(lightbox.getByRole("link", { name: "Download original" })).toHaveAttribute("download", "lake.jpg");
    await shot(bob, "03-lightbox");
    await bob.keyboard.press("Escape");
    await expect(lightbox).toBeHidden();

    // History after a reload shows both again.
    await bob.reload();
    await expect(bob.getByRole("button", { name: "Open picture lake.jpg" })).toBeVisible();
    await expect(bob.getByRole("link", { name: /Download plan\.pdf/ })).toBeVisible();

    // Bob replies to the photo with a file: it goes as the reply, with the quote on both sides.
    await bobPhoto.getByRole("button", { name: "Message actions" }).click();
    await bob.getByRole("menu", { name: "Message actions" }).getByRole("menuitem", { name: "Reply", exact: true }).click();
    await expect(bob.locator("#reply-bar")).toContainText("The lake <b>at dawn</b>");
    await bob
      .locator("#attach-input")
      .setInputFiles([{ name: "map.txt", mimeType: "text/plain", buffer: Buffer.from("the way") }]);
    await bob.getByRole("button", { name: "Send", exact: true }).click();
    await expect(bob.locator("#reply-bar")).toBeHidden();
    const sentMap = bob.locator("li.msg-me").filter({ has: bob.getByRole("link", { name: /Download map\.txt/ }) });
    await expect(sentMap.locator(".state")).toContainText(/Sent|Read/);
    await expect(sentMap.locator(".quote")).toContainText("Attachment: The lake <b>at dawn</b>");
    const aliceMap = alice.locator("li.msg-them").filter({ has: alice.getByRole("link", { name: /Download map\.txt/ }) });
    await expect(aliceMap.locator(".quote")).toContainText("Attachment: The lake <b>at dawn</b>");
    await alice.reload();
    await expect(aliceMap.locator(".quote")).toContainText("Attachment: The lake <b>at dawn</b>");

    // Alice deletes the PDF: Bob sees it go, and its file is gone.
    const sentPdf = alice.locator("li.msg-me").filter({ has: alice.locator(".att-file") });
    await sentPdf.getByRole("button", { name: "Message actions" }).click();
    const menu = alice.getByRole("menu", { name: "Message actions" });
    await expect(menu.getByRole("menuitem", { name: "Edit" })).toHaveCount(0); // a caption is not edited
    await menu.getByRole("menuitem", { name: "Delete" }).click();
    await alice.getByRole("dialog", { name: "Delete this message?" }).getByRole("button", { name: "Delete" }).click();
    await expect(bob.locator("li.msg-them .att-file")).toHaveCount(0);
    const href = await alice.evaluate(() => location.pathname);
    expect(href).toMatch(/^\/chat\//);

    await aliceContext.close();
    await bobContext.close();
  });

  test("a file over the limit is refused in the tray, before any upload; cancel stops an upload", async ({ browser }, info) => {
    const { alice, aliceContext: context, close } = await twoInARoom(browser, info, ["Alice Example", "Bob Example"]);
    let uploads = 0;
    alice.on("request", (request) => {
      if (request.url().includes("/attachments")) uploads++;
    });
    await alice.getByRole("button", { name: "Attach files" }).click();
    await alice
      .locator("#attach-input")
      .setInputFiles([{ name: "huge.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(25 * 1024 * 1024 + 1) }]);
    await expect(alice.getByText("Larger than 25 MB: it can't be sent.")).toBeVisible();
    await alice.getByRole("button", { name: "Remove huge.bin" }).click();
    expect(uploads).toBe(0);

    // A slow upload (the network throttled) can be cancelled: the message goes away.
    const cdp = await context.newCDPSession(alice);
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 50,
      downloadThroughput: 200 * 1024,
      uploadThroughput: 100 * 1024,
    });
    await alice
      .locator("#attach-input")
      .setInputFiles([{ name: "slow.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(3 * 1024 * 1024, 1) }]);
    await alice.getByRole("button", { name: "Send", exact: true }).click();
    const pending = alice.locator("li.msg-me").filter({ hasText: "slow.bin" });
    await expect(pending.locator("progress")).toBeVisible();
    await shot(alice, "04-uploading");
    await pending.getByRole("button", { name: "Cancel" }).click();
    await expect(pending).toHaveCount(0);
    await close();
  });
});

test("a file still uploading when Alice switches to another conversation is sent all the same, and leaving the page asks first", async ({
  browser,
}, info) => {
  test.setTimeout(120_000);
  const { alice, bob, aliceEmail, roomUrl, close } = await twoInARoom(browser, info, ["Alice Upload", "Bob Upload"]);
  const carol = await signedUpUser(`carol-upload-${info.project.name}`);
  await startConversation(carol.browser, aliceEmail);
  await alice.goto(roomUrl);
  await live(alice);

  // The upload is held at the network until Alice has left the conversation.
  const upload = await sendHeldFile(alice, "minutes.txt", "notes");

  // Leaving the page while it uploads asks first (the browser's own "Leave site?").
  const asked = alice.waitForEvent("dialog");
  await alice.close({ runBeforeUnload: true });
  const dialog = await asked;
  expect(dialog.type()).toBe("beforeunload");
  await dialog.dismiss();

  // Switching conversations in the page does not ask: the file goes on and is sent.
  await alice.locator("a.conversation", { hasText: "carol-upload" }).click();
  await expect(alice).not.toHaveURL(roomUrl);
  await live(alice);
  upload.release("continue");
  await expect(bob.getByRole("link", { name: /Download minutes\.txt/ })).toBeVisible();

  // Back in the conversation it is there once, sent.
  await alice.goBack();
  await expect(alice).toHaveURL(roomUrl);
  await live(alice);
  const sent = alice.locator("li.msg-me").filter({ has: alice.getByRole("link", { name: /Download minutes\.txt/ }) });
  await expect(sent).toHaveCount(1);
  await expect(sent.locator(".state")).toContainText(/Sent|Read/);
  await close();
});

test("a file still uploading when Bob deletes that conversation, while Alice is in another one: she stays where she is, and leaving no longer asks", async ({
  browser,
}, info) => {
  test.setTimeout(120_000);
  const { alice, bob, aliceEmail, roomUrl, close } = await twoInARoom(browser, info, ["Alice Gone", "Bob Gone"]);
  const carol = await signedUpUser(`carol-gone-${info.project.name}`);
  const carolRoom = await startConversation(carol.browser, aliceEmail);
  const atCarol = await openChat(carol.browser, carolRoom);
  try {
    await alice.goto(roomUrl);
    await live(alice);
    // The upload is held at the network for the whole test: only the deletion can end it.
    const upload = await sendHeldFile(alice, "never.txt", "never sent");
    await alice.locator("a.conversation", { hasText: "carol-gone" }).click();
    await expect(alice).toHaveURL(new RegExp(`/chat/${carolRoom}$`));
    await live(alice);
    const origin = await alice.evaluate(() => performance.timeOrigin);

    // Bob deletes his conversation with Alice: its socket, still open in Alice's page for the file, is closed.
    await bob.goto(`${roomUrl}/delete`);
    await bob.getByRole("button", { name: "Delete for both of us" }).click();
    await expect(bob.getByRole("status").filter({ hasText: "The conversation was deleted for both of you." })).toBeVisible();

    // Alice goes on talking to Carol in the same page (it was not sent to the list).
    await atCarol.next("ready");
    await send(alice, "still here");
    await atCarol.next("message", (m) => m.text === "still here");
    await expect(alice).toHaveURL(new RegExp(`/chat/${carolRoom}$`));
    expect(await alice.evaluate(() => performance.timeOrigin), "no page load").toBe(origin);

    // Nothing is left to send, so leaving the page does not ask (a prompt would keep it open).
    alice.on("dialog", (dialog) => void dialog.dismiss());
    await expect(async () => {
      const closed = alice.waitForEvent("close", { timeout: 2_000 });
      await alice.close({ runBeforeUnload: true });
      await closed;
    }).toPass({ timeout: 20_000 });
    upload.release("abort");
    expect(alice.isClosed()).toBe(true);
  } finally {
    atCarol.ws.terminate();
    await close();
  }
});

test("a file sent just before the tab closed (or crashed) is sent when the conversation is opened again, once", async ({
  browser,
}, info) => {
  test.setTimeout(120_000);
  const { alice, bob, aliceContext, roomUrl, close } = await twoInARoom(browser, info, ["Alice Crash", "Bob Crash"]);
  // In this tab the upload never gets through: the tab is gone first.
  const upload = await sendHeldFile(alice, "survivor.txt", "kept through a crash");
  // The browser has kept it (its own storage, written as the file is sent): then the tab goes,
  // without the "Leave site?" prompt, as a crash or a killed browser would.
  const kept = (page: Page) =>
    page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const opened = indexedDB.open("duet-files");
          opened.onsuccess = () => {
            const count = opened.result.transaction("unsent").objectStore("unsent").count();
            count.onsuccess = () => resolve(count.result);
          };
          opened.onerror = () => resolve(-1);
        }),
    );
  await expect.poll(() => kept(alice)).toBe(1);
  await alice.close();
  upload.release("abort");

  const again = await aliceContext.newPage();
  await again.goto(roomUrl);
  await live(again);
  const download = (page: Page) => page.getByRole("link", { name: /Download survivor\.txt/ });
  await expect(download(bob)).toBeVisible();
  const sent = again.locator("li.msg-me").filter({ has: download(again) });
  await expect(sent.locator(".state")).toContainText(/Sent|Read/);
  await expect(sent).toHaveCount(1);
  // Acknowledged, it is kept no more: the next visit shows it once, from the history.
  await expect.poll(() => kept(again)).toBe(0);
  await again.reload();
  await live(again);
  await expect(sent.locator(".state")).toContainText(/Sent|Read/);
  await expect(sent).toHaveCount(1);
  await expect(download(bob)).toHaveCount(1);
  await close();
});
