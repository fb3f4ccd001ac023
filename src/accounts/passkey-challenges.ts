/**
 * Passkey challenges: each ceremony's random challenge is kept only as a SHA-256 in the
 * browser's session (in Redis, so either app instance can finish what the other started),
 * with what it is for, whose it is and a 5-minute deadline. An answer takes it out of the
 * session whatever happens next, and claims it in Redis (`SET NX`), so two answers racing on
 * two instances with the same session cannot both use it.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Redis } from "ioredis";
import type { SessionData } from "../http/session-store.js";

export const CHALLENGE_WINDOW_MS = 5 * 60_000;

/** What a challenge was issued for: an answer meant for one ceremony never completes another. */
export type PasskeyPurpose = "register" | "signin" | "reauth" | "second-factor";

const sha256 = (value: string) => createHash("sha256").update(value).digest();

/** Remembers `challenge` (the options' base64url challenge) for one answer within the window. */
export function rememberChallenge(session: SessionData, challenge: string, purpose: PasskeyPurpose, userId?: string): void {
  session.passkeyChallenge = {
    hash: sha256(challenge).toString("base64url"),
    purpose,
    ...(userId ? { userId } : {}),
    until: Date.now() + CHALLENGE_WINDOW_MS,
  };
}

/** The check of an answer's challenge for the WebAuthn library, and whether another request had already used it. */
export type ChallengeCheck = { matches: (answered: string) => Promise<boolean>; usedElsewhere: () => boolean };

/**
 * Takes the session's challenge for `purpose` (and `userId`, when the ceremony is for a known
 * user), or undefined when there is none that fits (none issued, expired, already taken, for
 * something else).
 */
export function takeChallenge(
  redis: Redis,
  session: SessionData,
  purpose: PasskeyPurpose,
  userId?: string,
): ChallengeCheck | undefined {
  const stored = session.passkeyChallenge;
  delete session.passkeyChallenge;
  if (!stored || stored.purpose !== purpose || stored.until <= Date.now()) return undefined;
  if (userId !== undefined && stored.userId !== userId) return undefined;
  const expected = Buffer.from(stored.hash, "base64url");
  let lost = false;
  return {
    async matches(answered) {
      const hash = sha256(answered);
      if (hash.length !== expected.length || !timingSafeEqual(hash, expected)) return false;
      const claimed = await redis.set(
        `duet:passkey-challenge:${hash.toString("base64url")}`,
        "1",
        "PX",
        CHALLENGE_WINDOW_MS,
        "NX",
      );
      lost = claimed !== "OK";
      return !lost;
    },
    usedElsewhere: () => lost,
  };
}
