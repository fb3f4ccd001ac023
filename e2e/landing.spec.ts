import { readFileSync } from "node:fs";
import { join } from "node:path";
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
    // Which instance answered is not told to the outside (no instance name through nginx), so
    // it is read where the operator reads it: nginx's access log, by each answer's request id.
    const requestIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request.get("/healthz");
      expect(res.status()).toBe(200);
      expect(await res.json()).toEqual({ status: "ok" });
      requestIds.push(res.headers()["x-request-id"] ?? "");
    }
    const upstreams = () => {
      const log = readFileSync(join(stack.STACK_DIR, "logs", "nginx.log"), "utf8");
      const lines = log.split("\n").filter((line) => requestIds.some((id) => line.includes(`"reqId":"${id}"`)));
      return [...new Set(lines.map((line) => (JSON.parse(line) as { upstream: string }).upstream))].sort();
    };
    const instances = stack.APP_INSTANCES.split(",").map((url) => new URL(url).host);
    await expect.poll(upstreams).toEqual(instances.sort());
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
