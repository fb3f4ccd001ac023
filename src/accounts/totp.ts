/**
 * Time-based one-time codes (RFC 6238: SHA-1, 6 digits, 30 s) as authenticator apps make them.
 * A code counts only within one step of now (±30 s of clock drift), and only once: the step it
 * was made for is claimed in Redis with SET NX, which every app instance shares, so a code read
 * over someone's shoulder or replayed from a request log is refused even on the other instance.
 */
import type { Redis } from "ioredis";
import { generate, generateSecret, generateURI, verify } from "otplib";
import QRCode from "qrcode";

const PERIOD_S = 30;
// A claimed step must be remembered for as long as its code can still be accepted: the step
// itself, the one after (its code is "one step old" then), and a margin for clock differences.
const CLAIM_TTL_MS = 4 * PERIOD_S * 1000;

/** A new shared secret: 20 random bytes in base32, what authenticator apps expect. */
export const newTotpSecret = (): string => generateSecret({ length: 20 });

/** The secret in groups of four, for typing it into an app by hand. */
export const groupedSecret = (secret: string): string => secret.replace(/(.{4})(?=.)/g, "$1 ");

/** The otpauth:// address and its QR code (a PNG data URL, made here: no outside service sees the secret). */
export async function enrolmentCode(secret: string, label: string, issuer: string) {
  const uri = generateURI({ issuer, label, secret });
  const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: "M", margin: 2, width: 240 });
  return { uri, qr };
}

export type TotpCheck = { ok: true } | { ok: false; reason: "wrong" | "used" };

/**
 * Whether `token` is a current code for `secret` that nobody has used yet; if it is, its step
 * is claimed for `owner` (a user id, or a pending enrolment) so it cannot be used again.
 */
export async function checkTotp(redis: Redis, owner: string, secret: string, token: string): Promise<TotpCheck> {
  if (!/^\d{6}$/.test(token)) return { ok: false, reason: "wrong" };
  // otplib 13: async, and an object, not a boolean. epochTolerance is in seconds: one step either way.
  const result = await verify({ secret, token, epochTolerance: PERIOD_S });
  // (The result type also covers counter-based codes, which have no time step.)
  if (!result.valid || !("timeStep" in result)) return { ok: false, reason: "wrong" };
  const claimed = await redis.set(`duet:totp-used:${owner}:${result.timeStep}`, "1", "PX", CLAIM_TTL_MS, "NX");
  return claimed === "OK" ? { ok: true } : { ok: false, reason: "used" };
}

/** The code an app shows for `secret` at `at` (tests, and nothing else, need to make codes). */
export const totpAt = (secret: string, at = Date.now()): Promise<string> => generate({ secret, epoch: Math.floor(at / 1000) });
