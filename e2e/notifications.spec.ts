/**
 * Notifications and the installable app (issue #15): the manifest, the real service worker, the
 * app shell offline, and a push going the whole way. A browser's own pushManager.subscribe needs
 * its vendor's push service, which no machine here reaches, so Bob's subscription points at a
 * local stand-in (src/test/push-service.ts) through Duet's own API; the payload Duet sent there
 * (decrypted as the browser would) is handed to Bob's service worker through the DevTools
 * protocol (ServiceWorker.deliverPushMessage), as the push service would.
 */
import { AxeBuilder } from "@axe-core/playwright";
import { expect, test, type CDPSession, type Page } from "@playwright/test";
import { Redis } from "ioredis";
import { startPushService, type PushService } from "../src/test/push-service.js";
import { stack } from "../src/test/support.js";
import { signUpInBrowser } from "./support/accounts.js";
import { contextFor, send, twoInARoom } from "./support/rooms.js";

let pushService: PushService;
test.beforeAll(async () => (pushService = await startPushService()));
test.afterAll(async () => pushService.close());

/** PNG width and height from its IHDR chunk. */
const pngSize = (png: Buffer) => [png.readUInt32BE(16), png.readUInt32BE(20)];

async function workerReady(page: Page): Promise<string> {
  return page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL ?? "");
}

/** The service worker's registration id, as the DevTools protocol names it. */
async function registrationId(cdp: CDPSession): Promise<string> {
  const found = new Promise<string>((resolve) =>
    cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      const mine = registrations.find((r) => !r.isDeleted && new URL(r.scopeURL).pathname === "/");
      if (mine) resolve(mine.registrationId);
    }),
  );
  await cdp.send("ServiceWorker.enable");
  return found;
}

/**
 * Hands `payload` to Bob's service worker as a push, as the browser does when its push service
 * delivers one, until `read` shows `expected`. DevTools' deliverPushMessage answers before the
 * worker has the event, and a delivery can be lost without an error (a CI run's was: no
 * notification in 10 s); a push with the same tag replaces the notification, so delivering again
 * changes nothing else.
 */
async function deliverUntilShown<T>(
  cdp: CDPSession,
  registrationId: string,
  payload: unknown,
  read: () => Promise<T>,
  expected: T,
) {
  await expect(async () => {
    await cdp.send("ServiceWorker.deliverPushMessage", {
      origin: new URL(stack.APP_URL).origin,
      registrationId,
      data: JSON.stringify(payload),
    });
    await expect.poll(read, { timeout: 4_000 }).toEqual(expected);
  }).toPass({ timeout: 20_000 });
}

test.describe("notifications and the installable app", () => {
  test("Duet installs as an app, and opens its shell offline without keeping anyone's pages @responsive", async ({
    browser,
  }, info) => {
    const context = await browser.newContext(contextFor(info));
    const page = await context.newPage();

    const manifest = await page.request.get("/manifest.webmanifest");
    expect(manifest.status()).toBe(200);
    expect(manifest.headers()["content-type"]).toContain("application/manifest+json");
    const app = (await manifest.json()) as Record<string, unknown> & {
      icons: Array<{ src: string; sizes: string; type: string }>;
    };
    expect(app).toMatchObject({ name: "Duet", display: "standalone", start_url: "/chat", scope: "/", theme_color: "#5b5bd6" });
    for (const size of [192, 512]) {
      const icon = app.icons.find((i) => i.sizes === `${size}x${size}`);
      expect(icon?.type).toBe("image/png");
      const png = await page.request.get(icon?.src ?? "");
      expect(png.status()).toBe(200);
      expect(pngSize(await png.body())).toEqual([size, size]);
    }

    await signUpInBrowser(page, `Installer ${info.project.name}`);
    expect(await workerReady(page)).toMatch(/\/sw\.js$/);
    await expect(page.locator('link[rel="manifest"]')).toHaveAttribute("href", "/manifest.webmanifest");
    await page.goto("/chat");
    await expect(page.locator("#conversations")).toBeVisible();

    // A message queued in a conversation (the chat page's outbox in this browser) waits offline.
    await page.evaluate(() =>
      localStorage.setItem(
        `duet:outbox:${"r".repeat(22)}`,
        JSON.stringify([{ clientId: "c1", text: "See you <b>at noon</b>", at: new Date().toISOString() }]),
      ),
    );
    await context.setOffline(true);
    await page.goto("/chat");
    await expect(page.getByRole("heading", { name: "You're offline" })).toBeVisible();
    const waiting = page.getByRole("region", { name: "Waiting to be sent" });
    await expect(waiting).toContainText("See you <b>at noon</b>");
    await expect(waiting.getByRole("link", { name: "1 message in a conversation" })).toHaveAttribute(
      "href",
      `/chat/${"r".repeat(22)}`,
    );
    await page.screenshot({ path: test.info().outputPath("offline-queue.png") });
    expect(
      (await new AxeBuilder({ page }).analyze()).violations.filter((v) => v.impact === "critical" || v.impact === "serious"),
    ).toEqual([]);
    // The shell is styled from the cache: the stylesheet applied.
    expect(await page.locator("header").evaluate((el) => getComputedStyle(el).display)).not.toBe("inline");
    const cached = await page.evaluate(async () => {
      const urls: string[] = [];
      for (const name of await caches.keys())
        for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
      return urls.map((u) => new URL(u).pathname);
    });
    expect(cached).toContain("/offline");
    expect(cached.filter((path) => path !== "/offline" && !path.startsWith("/static/"))).toEqual([]);
    await context.setOffline(false);
    await context.close();
  });

  test("a push for Bob, away from Duet, shows 'New message from Alice' and its click opens the conversation; opted in, it shows the text; a tab in the back counts as away @responsive", async ({
    browser,
  }, info) => {
    test.setTimeout(60_000);
    const room = await twoInARoom(browser, info, ["Alice", "Bob"], { permissions: ["notifications"] });
    const { alice, bob, bobContext, roomUrl } = room;
    const roomId = new URL(roomUrl).pathname.split("/").pop() ?? "";

    // Bob turns notifications on for this browser; the subscription goes to the stand-in.
    await bob.goto("/profile");
    expect(await workerReady(bob)).toMatch(/\/sw\.js$/);
    await expect(bob.getByRole("heading", { name: "Notifications" })).toBeVisible();
    expect((await new AxeBuilder({ page: bob }).include("#notifications").analyze()).violations).toEqual([]);
    const subscriber = pushService.subscriber();
    const status = await bob.evaluate(async (subscription) => {
      const csrf = document.querySelector<HTMLInputElement>('input[name="_csrf"]')?.value ?? "";
      const res = await fetch("/api/push/subscription", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrf },
        body: JSON.stringify(subscription),
      });
      return res.status;
    }, subscriber.subscription);
    expect(status).toBe(201);
    await bob.reload();
    await expect(bob.locator(".session-item").filter({ hasText: "This device" })).toContainText("Notifications on");

    // Bob has no conversation or list open (the profile opens neither); Alice writes.
    await send(alice, "a secret that must not leave the server");
    const [pushed] = await subscriber.waitFor(1);
    expect(pushed?.payload).toEqual({
      type: "message",
      title: `New message from Alice ${info.project.name}`,
      room: roomId,
      url: `/chat/${roomId}`,
    });

    const cdp = await bobContext.newCDPSession(bob);
    const registration = await registrationId(cdp);
    // Read through the registration (whichever worker instance is running shows them).
    const shown = () =>
      bob.evaluate(async () =>
        (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({
          title: n.title,
          body: n.body,
          tag: n.tag,
          data: n.data as unknown,
        })),
      );
    await deliverUntilShown(cdp, registration, pushed?.payload, shown, [
      {
        title: `New message from Alice ${info.project.name}`,
        body: "Open Duet to read it.",
        tag: roomId,
        data: { url: `/chat/${roomId}` },
      },
    ]);

    // The click path: the worker takes Bob's open Duet window to the conversation.
    const worker = bobContext.serviceWorkers().find((w) => w.url().endsWith("/sw.js"));
    expect(worker).toBeTruthy();
    await worker?.evaluate(
      (url) => (self as unknown as { openConversation(u: string): Promise<void> }).openConversation(url),
      `/chat/${roomId}`,
    );
    await expect(bob).toHaveURL(roomUrl);
    await expect(bob.locator("#chat")).toBeVisible();

    // Bob has read it (so the next message may notify), opts in to the text, and leaves again.
    await expect(alice.locator("li.msg-me").filter({ hasText: "a secret" }).locator(".state-read")).toHaveCount(1);
    await bob.goto("/profile");
    await bob.getByLabel("Show the message's text in notifications").check();
    await bob.locator("#notifications").getByRole("button", { name: "Save" }).click();
    await expect(bob.getByText("Notifications will show the message's text.")).toBeVisible();
    await expect(bob.getByLabel("Show the message's text in notifications")).toBeChecked();
    for (const scheme of ["light", "dark"] as const) {
      await bob.emulateMedia({ colorScheme: scheme });
      await bob.locator("#notifications").screenshot({ path: test.info().outputPath(`notifications-card-${scheme}.png`) });
    }
    expect((await new AxeBuilder({ page: bob }).include("#notifications").analyze()).violations).toEqual([]);
    await send(alice, "Dinner at eight?");
    const [, withText] = await subscriber.waitFor(2);
    expect(withText?.payload).toMatchObject({ title: `New message from Alice ${info.project.name}`, body: "Dinner at eight?" });
    await deliverUntilShown(
      cdp,
      registration,
      withText?.payload,
      async () => (await shown()).map((n) => `${n.title}: ${n.body}`),
      [`New message from Alice ${info.project.name}: Dinner at eight?`],
    );

    // A Duet tab in the back counts as away: Bob reads, his tab goes to the back, and Alice's next
    // message is pushed although the page is open (the page tells the server, client/visibility.ts).
    await bob.goto(roomUrl);
    await expect(alice.locator("li.msg-me").filter({ hasText: "Dinner at eight?" }).locator(".state-read")).toHaveCount(1);
    const bobId = (await bob.locator("#chat").getAttribute("data-me")) ?? "";
    const redis = new Redis(stack.REDIS_ADMIN_URL);
    const visibleTabs = async () =>
      Object.values(await redis.hgetall(`duet:visible:${bobId}`)).reduce((sum, n) => sum + Number(n), 0);
    await expect.poll(visibleTabs).toBeGreaterThan(0);
    await bob.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await expect.poll(visibleTabs).toBe(0);
    redis.disconnect();
    await send(alice, "Are you there?");
    const [, , whileHidden] = await subscriber.waitFor(3);
    expect(whileHidden?.payload).toMatchObject({ body: "Are you there?" });
    await room.close();
  });
});
