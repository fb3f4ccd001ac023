/**
 * The host's network, as Chromium sees it, while the Docker test starts containers.
 *
 * Each container Docker starts gets a veth interface on the host, and the kernel gives it an
 * IPv6 link-local address once duplicate address detection is done: 1 to 2.5 s after the
 * container starts, so often after `docker compose up` has returned. Chromium takes every
 * address added or removed on the host as "the network changed": it closes its HTTP/2
 * sessions, failing whatever request is in flight on them with ERR_NETWORK_CHANGED (nginx logs
 * a 499). A sign-in form posted at that moment never reaches the app, and the page, signed out,
 * lands on Chromium's error page (issue #17: the production spec's flake).
 *
 * That is the test machine's network, not the stack's, so the specs wait for it to settle
 * after starting containers: until no address on the host is still tentative (in detection).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The host's IPv6 addresses still in duplicate address detection, one per line ("" when none). */
async function tentativeAddresses(): Promise<string> {
  const { stdout } = await run("ip", ["-6", "-o", "addr", "show", "tentative"]);
  return stdout.trim();
}

/**
 * Resolves once no address on the host is tentative, so none of the interfaces Docker has made
 * so far will announce a new address. Fails, naming them, if some are still tentative after
 * `timeoutMs` (detection takes at most a few seconds).
 */
export async function hostNetworkSettled(timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tentative = await tentativeAddresses();
    if (tentative === "") return;
    if (Date.now() > deadline) {
      throw new Error(`the host's network did not settle within ${timeoutMs} ms; still tentative:\n${tentative}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
