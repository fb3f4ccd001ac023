/**
 * Password hashing (argon2id) and the password policy. Parameters follow OWASP's argon2id
 * guidance (≥ 19 MiB, ≥ 2 passes); see scripts/bench-passwords for the measured cost here.
 */
import { hash, verify } from "@node-rs/argon2";
import languageCommon from "@zxcvbn-ts/language-common";

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

const ARGON2 = { algorithm: 2 /* argon2id */, memoryCost: 47_104, timeCost: 2, parallelism: 1 } as const;

const common = new Set(languageCommon.dictionary["passwords-common"].map((p) => p.toLowerCase()));

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2);
}

// Verifying against this when the account does not exist makes "no such email" cost the same
// time as "wrong password", so response timing does not reveal which emails have accounts.
const decoy = hashPassword("decoy password that matches nothing");

/** True if `password` matches `passwordHash`; always spends one argon2 verification. */
export async function verifyPassword(password: string, passwordHash: string | undefined | null): Promise<boolean> {
  if (!passwordHash) {
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}

/** Why `password` is not acceptable, or undefined if it is. */
export function passwordProblem(password: string, email = ""): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
  const lower = password.toLowerCase();
  // "password123456!" is "password" with padding: check the stem too.
  const stem = lower.replace(/[\d\W_]+$/u, "");
  if (common.has(lower) || (stem.length >= 4 && common.has(stem))) {
    return "That password is on the list of most common passwords. Choose another.";
  }
  if (new Set(lower).size <= 2) return "That password repeats too few characters. Choose another.";
  const local = email.split("@")[0]?.toLowerCase() ?? "";
  if (local.length >= 4 && lower.includes(local)) return "Your password must not contain your email address.";
  return undefined;
}
