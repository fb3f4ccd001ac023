import type { Page } from "@playwright/test";

/**
 * Runs a navigation (goto, reload), and again once if Chromium aborted it with
 * ERR_NETWORK_CHANGED: Docker adds and removes the host's network interfaces as containers
 * start and stop, and Chromium drops a navigation under way when it sees the host's addresses
 * change (./network.ts). That is the test machine's network, not the stack's. The specs wait
 * for the network to settle after starting containers; this covers a replica restarted while
 * its browsers are open, and interfaces removed just before a navigation.
 */
export async function navigate<T>(go: () => Promise<T>): Promise<T> {
  try {
    return await go();
  } catch (err) {
    if (!(err instanceof Error) || !err.message.includes("ERR_NETWORK_CHANGED")) throw err;
    return go();
  }
}

export function reload(page: Page): Promise<unknown> {
  return navigate(() => page.reload());
}
