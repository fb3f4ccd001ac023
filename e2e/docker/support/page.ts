import type { Page } from "@playwright/test";

/**
 * page.reload(), again once if Chromium aborted it with ERR_NETWORK_CHANGED: Docker adds and
 * removes the host's network interfaces as containers start and stop, and Chromium drops a
 * navigation under way when it sees that. It is the test machine's network, not the stack.
 */
export async function reload(page: Page): Promise<void> {
  try {
    await page.reload();
  } catch (err) {
    if (!(err instanceof Error) || !err.message.includes("ERR_NETWORK_CHANGED")) throw err;
    await page.reload();
  }
}
