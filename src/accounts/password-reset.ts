/** "Forgot password": the same answer whether or not the address has an account. */
import type { Redis } from "ioredis";
import { sendInBackground, type AccountsDeps } from "./deps.js";
import { hashPassword } from "./passwords.js";
import { consumeResetToken, issueResetToken } from "./reset-tokens.js";
import { revokeUserSessions } from "../http/session-store.js";
import { normalizeEmail, UserModel } from "./user.model.js";

export async function requestPasswordReset(deps: AccountsDeps, rawEmail: string): Promise<void> {
  const user = await UserModel.findOne({ email: normalizeEmail(rawEmail) }).lean();
  if (!user) return;
  const token = await issueResetToken(String(user._id));
  const link = `${deps.publicUrl}/reset?token=${token}`;
  sendInBackground(deps, user.email, "password-reset", { displayName: user.displayName, link });
}

/**
 * Uses the token (once), sets the new password, ends every session of the account and
 * confirms by email. Returns the user id, or undefined for an expired, used or forged token.
 */
export async function resetPassword(deps: AccountsDeps, token: string, password: string): Promise<string | undefined> {
  const userId = await consumeResetToken(token);
  if (!userId) return undefined;
  // A reset link proves control of the address, so it also verifies it.
  const user = await UserModel.findByIdAndUpdate(userId, {
    $set: { passwordHash: await hashPassword(password), emailVerified: true },
  }).lean();
  if (!user) return undefined;
  await signOutEverywhere(deps.redis, userId);
  sendInBackground(deps, user.email, "password-changed", { displayName: user.displayName });
  return userId;
}

export async function signOutEverywhere(redis: Redis, userId: string, except?: string): Promise<number> {
  return revokeUserSessions(redis, userId, { except });
}
