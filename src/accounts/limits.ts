import type { Redis } from "ioredis";
import { createLimiter, take, type Limiter } from "../http/rate-limit.js";

/** Wrong emailed codes allowed per address (sign-up) or per account (email change) in an hour. */
export const WRONG_CODES_PER_HOUR = 10;
/**
 * Wrong two-factor codes allowed per account in 15 minutes. Three codes are valid at any time
 * (one step either way), so a guesser gets 5 × 3 in a million per 15 minutes, after having
 * found the password.
 */
export const WRONG_SECOND_FACTORS = 5;

/** Brute-force limits for account endpoints, shared by every app instance through Redis. */
export type AccountLimits = {
  signInPerIp: Limiter;
  signInPerAccount: Limiter;
  signUpPerIp: Limiter;
  codePerIp: Limiter;
  /** Wrong sign-up codes per address, across resends and sign-up attempts. */
  signUpCodesPerAddress: Limiter;
  /** Wrong email-change codes per account, across new requests. */
  emailCodesPerAccount: Limiter;
  /** One email-change request a minute per account, whatever the new address. */
  emailChangePerAccount: Limiter;
  forgotPerIp: Limiter;
  forgotPerEmail: Limiter;
  passwordCheckPerUser: Limiter;
  /** Wrong two-factor codes (app or recovery) per account, at sign-in and in the profile alike. */
  secondFactorPerAccount: Limiter;
};

export function accountLimits(redis: Redis): AccountLimits {
  return {
    signInPerIp: createLimiter(redis, "signin-ip", 30, 15 * 60),
    signInPerAccount: createLimiter(redis, "signin-account", 10, 15 * 60),
    signUpPerIp: createLimiter(redis, "signup-ip", 10, 60 * 60),
    codePerIp: createLimiter(redis, "code-ip", 30, 15 * 60),
    signUpCodesPerAddress: createLimiter(redis, "signup-code-address", WRONG_CODES_PER_HOUR, 60 * 60),
    emailCodesPerAccount: createLimiter(redis, "email-code-account", WRONG_CODES_PER_HOUR, 60 * 60),
    emailChangePerAccount: createLimiter(redis, "email-change-send", 1, 60, 0),
    forgotPerIp: createLimiter(redis, "forgot-ip", 10, 60 * 60),
    forgotPerEmail: createLimiter(redis, "forgot-email", 3, 60 * 60),
    passwordCheckPerUser: createLimiter(redis, "password-check", 10, 15 * 60),
    secondFactorPerAccount: createLimiter(redis, "second-factor", WRONG_SECOND_FACTORS, 15 * 60),
  };
}

export type Capped = { ok: false; reason: "capped"; retryInMs: number };

/**
 * Runs a code check only while `key` has wrong tries left, and counts the try only if the code
 * was wrong. The try is taken before the check and given back after, so parallel guesses cannot
 * get past the cap; a right code clears the count.
 */
export async function withinCodeCap<R extends { ok: true } | { ok: false; reason: string }>(
  limiter: Limiter,
  key: string,
  check: () => Promise<R>,
): Promise<R | Capped> {
  const wait = await take(limiter, key);
  if (wait !== undefined) return { ok: false, reason: "capped", retryInMs: wait };
  let result: R;
  try {
    result = await check();
  } catch (err) {
    await limiter.reward(key, 1);
    throw err;
  }
  if (result.ok) await limiter.delete(key);
  else if (result.reason !== "wrong") await limiter.reward(key, 1);
  return result;
}
