import { hkdfSync } from "node:crypto";

/**
 * Derives a purpose-bound 256-bit key from the app's secret, so one configured secret yields
 * independent keys (CSRF tokens, email-code hashes, ...) and a leak of one reveals no other.
 */
export function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, "duet", purpose, 32));
}
