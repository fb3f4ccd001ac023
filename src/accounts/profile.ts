/** Changes a signed-in user makes to their own account. */
import mongoose from "mongoose";
import { take } from "../http/rate-limit.js";
import { AvatarModel } from "./avatars.js";
import { sendInBackground, type AccountsDeps } from "./deps.js";
import { consumeEmailCode, EmailCodeModel, issueEmailCode, type CheckResult } from "./email-codes.js";
import type { AccountLimits } from "./limits.js";
import { hashPassword } from "./passwords.js";
import { ResetTokenModel, voidResetTokens } from "./reset-tokens.js";
import { revokeUserSessions } from "../http/session-store.js";
import { KnownDeviceModel } from "./devices.js";
import { removeSubscriptionsOf } from "./push-subscriptions.js";
import { TwoFactorModel } from "./two-factor.js";
import { removePasskeysOf } from "./passkeys.js";
import { normalizeEmail, UserModel, type User } from "./user.model.js";

export async function updateProfile(userId: string, fields: { displayName: string; status: string }): Promise<void> {
  // The generated avatar shows initials, so a new name is a new avatar URL.
  await UserModel.updateOne({ _id: userId }, { $set: fields, $inc: { avatarVersion: 1 } });
}

/** Whether notifications (pushed, and the open tab's own) show the message's text. */
export async function setNotificationText(userId: string, show: boolean): Promise<void> {
  await UserModel.updateOne({ _id: userId }, { $set: { notificationText: show } });
}

/**
 * Sets a new password (the route has checked the re-authentication, reauth.ts) and signs out
 * every other session. An account that signed in only with Google gets its first password here.
 */
export async function changePassword(
  deps: AccountsDeps,
  userId: string,
  input: { newPassword: string; keepSession?: string },
): Promise<boolean> {
  const user = await UserModel.findById(userId);
  if (!user) return false;
  user.passwordHash = await hashPassword(input.newPassword);
  await user.save();
  await revokeUserSessions(deps.redis, userId, { except: input.keepSession });
  sendInBackground(deps, user.email, "password-changed", { displayName: user.displayName });
  return true;
}

export type EmailChangeStart = { ok: true; email: string } | { ok: false; reason: "cooldown"; retryInSeconds: number };

/**
 * Sends a code to the new address. If that address already has an account, no code is sent
 * but the answer is the same, so this form cannot be used to test which addresses exist.
 */
export async function startEmailChange(
  deps: AccountsDeps & { limits: Pick<AccountLimits, "emailChangePerAccount"> },
  userId: string,
  input: { email: string },
): Promise<EmailChangeStart> {
  const user = await UserModel.findById(userId).lean();
  if (!user) return { ok: false, reason: "cooldown", retryInSeconds: 60 };
  // One cooldown per account, whatever the address: a cooldown that only codes actually sent
  // started would tell, on the next request, whether the previous address had an account.
  const wait = await take(deps.limits.emailChangePerAccount, userId);
  if (wait !== undefined) return { ok: false, reason: "cooldown", retryInSeconds: Math.ceil(wait / 1000) };
  const email = normalizeEmail(input.email);
  if (await UserModel.exists({ email })) return { ok: true, email };
  const issued = await issueEmailCode(deps.codeKey, { userId, email });
  if (!issued.ok) return { ok: false, reason: "cooldown", retryInSeconds: issued.retryInSeconds };
  sendInBackground(deps, email, "email-change-code", { displayName: user.displayName, code: issued.code });
  return { ok: true, email };
}

export type EmailChangeResult =
  { ok: true; email: string } | Exclude<CheckResult<unknown>, { ok: true }> | { ok: false; reason: "taken" };

/**
 * Checks the code sent to the new address and moves the account there. Then, because whoever
 * did this may not be the owner: every other session ends, reset links sent to the old address
 * stop working, and the old address is told (it is the owner's only channel left).
 */
export async function confirmEmailChange(
  deps: AccountsDeps,
  userId: string,
  input: { code: string; keepSession?: string },
): Promise<EmailChangeResult> {
  const result = await consumeEmailCode(deps.codeKey, { userId, code: input.code });
  if (!result.ok) return result;
  const email = result.doc.email;
  let before: Pick<User, "email" | "displayName"> | null;
  try {
    before = await UserModel.findOneAndUpdate(
      { _id: userId },
      { $set: { email, emailVerified: true } },
      { returnDocument: "before" },
    ).lean();
  } catch (err) {
    if (err instanceof mongoose.mongo.MongoServerError && err.code === 11000) return { ok: false, reason: "taken" };
    throw err;
  }
  if (!before) return { ok: false, reason: "expired" };
  await Promise.all([revokeUserSessions(deps.redis, userId, { except: input.keepSession }), voidResetTokens(userId)]);
  sendInBackground(deps, before.email, "email-changed", {
    displayName: before.displayName,
    newEmail: email,
    changedAt: new Date(),
    sessionsLink: `${deps.publicUrl}/profile#sessions`,
  });
  return { ok: true, email };
}

/** Deletes the account and everything personal attached to it (the route has checked the re-authentication). */
export async function deleteAccount(deps: AccountsDeps, userId: string): Promise<void> {
  await revokeUserSessions(deps.redis, userId);
  await Promise.all([
    AvatarModel.deleteOne({ userId }),
    EmailCodeModel.deleteMany({ userId }),
    ResetTokenModel.deleteMany({ userId }),
    TwoFactorModel.deleteOne({ userId }),
    removePasskeysOf(userId),
    KnownDeviceModel.deleteMany({ userId }),
    removeSubscriptionsOf(userId),
    // What they wrote goes too; the other person keeps the conversation with gaps marked "deleted".
    deps.conversations.eraseMessagesOf(userId),
  ]);
  await UserModel.deleteOne({ _id: userId });
  // The account is gone either way; an open chat that misses this refuses sends once it reconnects.
  await deps.conversations
    .accountDeleted(userId)
    .catch((err: unknown) =>
      deps.log.warn({ err: err instanceof Error ? err.message : err }, "open chats not told of a deletion"),
    );
}
