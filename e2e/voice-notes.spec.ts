import { AxeBuilder } from "@axe-core/playwright";
import { expect, test, type Page, type TestInfo } from "@playwright/test";
import { twoInARoom } from "./support/rooms.js";

async function shot(page: Page, info: TestInfo, name: string) {
  await page.screenshot({ path: info.outputPath(`${name}.png`) });
}

test.describe("voice notes", () => {
  test.setTimeout(120_000);
  test("recorded with the microphone, sent from the tray, played by the other person; Escape throws one away @responsive", async ({
    browser,
  }, info) => {
    const { alice, bob, close } = await twoInARoom(browser, info, ["Vera", "Walt"]);
    const record = alice.getByRole("button", { name: "Record a voice note" });

    // Escape while recording throws the recording away: nothing reaches the tray.
    await record.click();
    await expect(alice.getByRole("status").filter({ hasText: /^Recording \d:\d\d$/ })).toBeVisible();
    await alice.keyboard.press("Escape");
    await expect(alice.getByText("Recording discarded.")).toBeVisible();
    await expect(alice.getByRole("list", { name: "Files to send" })).toBeHidden();

    // Keyboard only: focus the button, Enter starts, a second or more of sound, Enter stops.
    await record.focus();
    await alice.keyboard.press("Enter");
    const stop = alice.getByRole("button", { name: "Stop recording" });
    await expect(stop).toHaveAttribute("aria-pressed", "true");
    await expect(alice.getByRole("status").filter({ hasText: /^Recording 0:0[1-9]$/ })).toBeVisible();
    await shot(alice, info, "recording");
    await stop.press("Enter");
    const tray = alice.getByRole("list", { name: "Files to send" });
    await expect(tray).toContainText(/Voice note \d\d\.\d\d\.webm/);
    await alice.getByLabel(/Caption for Voice note/).fill("Listen to this");
    await alice.getByRole("button", { name: "Send" }).click();
    await expect(alice.locator("li.msg-me", { hasText: "Listen to this" }).locator(".state")).toContainText(/Sent|Read/);

    // Bob gets a player that loads the recording (its length known once the browser read it).
    const note = bob.locator("li.msg-them", { hasText: "Listen to this" });
    const player = note.locator("audio");
    await expect(player).toHaveAttribute("src", /\/audio$/);
    await expect
      .poll(() => player.evaluate((a: HTMLAudioElement) => a.readyState), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(1);
    const served = await bob.request.get((await player.getAttribute("src")) ?? "");
    expect(served.status()).toBe(200);
    expect(served.headers()["content-type"]).toBe("audio/webm");
    expect(served.headers()["content-security-policy"]).toContain("sandbox");
    expect((await served.body()).subarray(0, 4).toString("hex"), "a WebM (EBML) file").toBe("1a45dfa3");
    await expect(note.getByRole("link", { name: /Download Voice note/ })).toBeVisible();
    await shot(bob, info, "received");
    await alice.emulateMedia({ colorScheme: "dark" });
    await expect(alice.locator("li.msg-me", { hasText: "Listen to this" }).locator("audio")).toBeVisible();
    await shot(alice, info, "sent-dark");

    for (const page of [alice, bob]) {
      const results = await new AxeBuilder({ page }).include("#chat").analyze();
      const serious = results.violations.filter((v) => v.impact === "critical" || v.impact === "serious");
      expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
    }
    await close();
  });
});
