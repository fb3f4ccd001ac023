/**
 * Issue #17, step 1: `scripts/gen-env && docker compose up` from a clean state (scripts/docker-test
 * ran both) gives a healthy stack at https://localhost, served with the generated CA.
 */
import { expect, test } from "@playwright/test";
import { addressOf, appReplicas, containers, LOCAL, nginxAccess } from "./support/compose.js";

test.describe("a user runs `scripts/gen-env && docker compose up`", () => {
  test("every service is healthy, two app replicas run, and the certs job exited 0", async () => {
    const all = await containers(LOCAL);
    const byService = (name: string) => all.filter((c) => c.Service === name);
    expect(byService("certs").map((c) => [c.State, c.ExitCode])).toEqual([["exited", 0]]);
    for (const service of ["mongodb", "redis", "maildev", "app", "nginx"]) {
      const running = byService(service);
      expect(running.length, service).toBeGreaterThan(0);
      for (const c of running) expect([c.Name, c.State, c.Health]).toEqual([c.Name, "running", "healthy"]);
    }
    expect(byService("app")).toHaveLength(2);
  });

  test("https://localhost answers with the generated CA, http redirects to it, the inbox is on 8025", async ({
    page,
    request,
  }) => {
    // The browser trusts only the CA the certs job just made (playwright.docker.config.ts).
    const response = await page.goto("/");
    expect(response?.status()).toBe(200);
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Private conversations");
    const redirect = await request.get("http://localhost/some/path?x=1", { maxRedirects: 0 });
    expect(redirect.status()).toBe(301);
    expect(redirect.headers()["location"]).toBe("https://localhost/some/path?x=1");
    const inbox = await request.get("https://localhost:8025/email");
    expect(inbox.status()).toBe(200);
  });

  test("both app replicas serve requests behind nginx", async ({ request }) => {
    const requestIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request.get("/healthz");
      expect(res.status()).toBe(200);
      requestIds.push(res.headers()["x-request-id"] ?? "");
    }
    const replicas = await Promise.all((await appReplicas()).map(async (name) => `${await addressOf(name)}:3000`));
    const upstreams = async () => [...new Set((await nginxAccess(LOCAL, requestIds)).map((e) => e.upstream))].sort();
    await expect.poll(upstreams).toEqual(replicas.sort());
  });
});
