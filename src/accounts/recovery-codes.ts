/**
 * Recovery codes: ten single-use codes shown once when two-factor is turned on (or the set is
 * renewed), for when the authenticator app is lost. Each is 80 random bits, so a plain SHA-256
 * (bound to its account) is enough at rest: nobody can walk that space from a stolen hash.
 */
import { createHash, randomInt } from "node:crypto";

export const RECOVERY_CODE_COUNT = 10;
// Crockford's base32: no I, L, O or U, so a code copied by hand reads back the same.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** "k7fq-2mxp-9dzr-hv3a": 16 characters of 5 bits each, in groups of four. */
function recoveryCode(): string {
  const chars = Array.from({ length: 16 }, () => ALPHABET[randomInt(0, ALPHABET.length)]).join("");
  return chars.replace(/(.{4})(?=.)/g, "$1-");
}

/** What a person typed, in the one form codes are hashed in (case, spaces, dashes and look-alikes ignored). */
export function normalizeRecoveryCode(typed: string): string | undefined {
  const plain = typed
    .toLowerCase()
    .replace(/[\s-]+/g, "")
    .replace(/o/g, "0")
    .replace(/[il]/g, "1");
  return /^[0-9a-hjkmnp-tv-z]{16}$/.test(plain) ? plain : undefined;
}

export const hashRecoveryCode = (userId: string, normalized: string): string =>
  createHash("sha256").update(`${userId}:${normalized}`).digest("base64url");

/** A new set: the codes to show once, and the hashes to keep. */
export function newRecoveryCodes(userId: string): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, recoveryCode);
  return { codes, hashes: codes.map((c) => hashRecoveryCode(userId, c.replace(/-/g, ""))) };
}
