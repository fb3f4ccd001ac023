import { expect, test } from "@playwright/test";
import { readStackEnv } from "../scripts/lib/stack-env.js";

const stack = readStackEnv();

test.describe("a visitor opens Duet", () => {
  test("the landing page loads over https through nginx, styled and secure @responsive", async ({ page }, info) => {
    const response = await page.goto("/");
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`${stack.APP_URL}/`);
    await expect(page).toHaveTitle(/Duet/);
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Private conversations");
    await expect(page.getByRole("link", { name: "Create your account" })).toBeVisible();

    // The stylesheet applied (served by nginx), and the page works under the strict CSP.
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).not.toBe("rgba(0, 0, 0, 0)");
    const headers = response?.headers() ?? {};
    expect(headers["strict-transport-security"]).toContain("max-age=63072000");
    expect(headers["content-security-policy"]).toContain("default-src 'none'");
    expect(headers["x-request-id"]).toMatch(/^[0-9a-f]{32}$/);

    await page.screenshot({ path: info.outputPath("landing.png"), fullPage: true });
  });

  test("both app instances serve requests behind nginx", async ({ request }) => {
    const instances = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await request.get("/healthz");
      expect(res.status()).toBe(200);
      instances.add(((await res.json()) as { instance: string }).instance);
    }
    expect([...instances].sort()).toEqual(["app-1", "app-2"]);
  });

  test("an unknown page shows the site's own 404 page", async ({ page }) => {
    const response = await page.goto("/no-such-page");
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
    await expect(page.getByRole("link", { name: "Go to the home page" })).toBeVisible();
  });

  test("plain http is redirected to https", async ({ request }) => {
    const res = await request.get(`${stack.HTTP_URL}/some/path?x=1`, { maxRedirects: 0 });
    expect(res.status()).toBe(301);
    expect(res.headers()["location"]).toBe(`${stack.APP_URL}/some/path?x=1`);
  });
});
