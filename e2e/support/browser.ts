/**
 * Debian's Chromium for Playwright (it cannot download its own browser here), trusting the
 * stack's local CA through an NSS database in a private HOME, so pages load over https with
 * real certificate validation rather than with errors ignored.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

// Without these, headless Chromium here tries Google's services and a sandbox it cannot have as root.
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
  // A fake microphone (a beep), its permission granted without a prompt: voice notes are recorded
  // for real by MediaRecorder with no sound card here.
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
];

/** Creates `<home>/.pki/nssdb` trusting `caFile` for TLS servers; returns the HOME to launch with. */
export function browserHomeTrusting(caFile: string, home: string): string {
  const db = join(home, ".pki", "nssdb");
  if (!existsSync(join(db, "cert9.db"))) {
    mkdirSync(db, { recursive: true });
    execFileSync("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"]);
  }
  execFileSync("certutil", ["-A", "-d", `sql:${db}`, "-t", "C,,", "-n", "duet-local-ca", "-i", caFile]);
  return home;
}
