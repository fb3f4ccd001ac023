/**
 * Sign-up with an emailed code. Submitting the form stores a pending attempt, never an account;
 * the account is made only by the code sent for that attempt, with that attempt's name and
 * password. Registering an address that already has an account, or has sign-ups in progress,
 * looks exactly like a new sign-up to whoever submits the form (same page, same work, same
 * timing); only the address's owner learns of it, by email.
 */
import mongoose from "mongoose";
import { sendInBackground, type AccountsDeps } from "./deps.js";
import type { CheckResult } from "./email-codes.js";
import { consumeAttempt, createAttempt, pruneAttempts, reissueAttemptCode, type PendingSignUpDoc } from "./pending-signups.js";
import { hashPassword } from "./passwords.js";
import { voidResetTokens } from "./reset-tokens.js";
import type { SessionData } from "../http/session-store.js";
import { normalizeEmail, UserModel, type User } from "./user.model.js";

/** What the browser keeps of a sign-up waiting for its code: the attempt, and the address to show. */
export type PendingSignUp = NonNullable<SessionData["pending"]>;

export async function startSignUp(
  deps: AccountsDeps,
  input: { email: string; displayName: string; password: string },
): Promise<PendingSignUp> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const [owner] = await Promise.all([
    UserModel.findOne({ email, emailVerified: true }, { displayName: 1 }).lean(),
    pruneAttempts(),
  ]);
  // Stored even when the address has an account, so the work and every page after it are the
  // same: that attempt's code is never sent, and no code makes an attempt replace a verified account.
  const { attemptId, code } = await createAttempt(deps.codeKey, { email, displayName: input.displayName, passwordHash });
  if (owner) sendInBackground(deps, email, "signup-exists", { displayName: owner.displayName });
  else sendInBackground(deps, email, "signup-code", { displayName: input.displayName, code });
  return { attemptId, email };
}

export type ResendResult =
  { ok: true } | { ok: false; reason: "cooldown"; retryInSeconds: number } | { ok: false; reason: "gone" };

/** Emails the attempt a fresh code unless one went out in the last minute. */
export async function resendSignUpCode(deps: AccountsDeps, attemptId: string): Promise<ResendResult> {
  const issued = await reissueAttemptCode(deps.codeKey, attemptId);
  if (!issued.ok) return issued;
  await sendCode(deps, issued);
  return { ok: true };
}

async function sendCode(deps: AccountsDeps, attempt: { email: string; displayName: string; code: string }) {
  // An address that has an account gets no sign-up codes; the one asking sees no difference.
  if (await UserModel.exists({ email: attempt.email, emailVerified: true })) return;
  sendInBackground(deps, attempt.email, "signup-code", { displayName: attempt.displayName, code: attempt.code });
}

export type VerifyResult =
  { ok: true; userId: string } | Exclude<CheckResult<PendingSignUpDoc>, { ok: true }> | { ok: false; reason: "taken" };

/** Checks the code of one attempt; the right code makes the account, signed up and verified. */
export async function verifySignUp(deps: AccountsDeps, attemptId: string, code: string): Promise<VerifyResult> {
  const result = await consumeAttempt(deps.codeKey, attemptId, code);
  if (!result.ok) return result;
  const { email, displayName, passwordHash } = result.doc;
  let userId: string;
  try {
    // The code proves control of the address, so this attempt's name and password replace those
    // of an unverified account made by an earlier version. A verified account is never matched:
    // the upsert then collides with its unique email instead.
    const user = await UserModel.findOneAndUpdate(
      { email, emailVerified: false },
      { $set: { displayName, passwordHash, emailVerified: true } },
      { upsert: true, returnDocument: "after" },
    ).lean();
    if (!user) throw new Error("upsert returned no user");
    userId = String(user._id);
  } catch (err) {
    if (err instanceof mongoose.mongo.MongoServerError && err.code === 11000) return { ok: false, reason: "taken" };
    throw err;
  }
  // Reset links sent for such an earlier account must not replace the password just confirmed.
  await voidResetTokens(userId);
  return { ok: true, userId };
}

/**
 * Takes a sign-up that is not finished back to the code page, for someone who just gave its
 * password: an unverified account from an earlier version becomes a new attempt, and an
 * attempt gets a fresh code (unless one went out in the last minute; that one still works).
 */
export async function resumeSignUp(
  deps: AccountsDeps,
  from: { legacy: Pick<User, "email" | "displayName" | "passwordHash"> } | { attempt: PendingSignUpDoc },
): Promise<PendingSignUp> {
  if ("attempt" in from) {
    await resendSignUpCode(deps, String(from.attempt._id));
    return { attemptId: String(from.attempt._id), email: from.attempt.email };
  }
  const { email, displayName, passwordHash } = from.legacy;
  if (!passwordHash) throw new Error("an unverified account without a password cannot resume its sign-up");
  const { attemptId, code } = await createAttempt(deps.codeKey, { email, displayName, passwordHash });
  await sendCode(deps, { email, displayName, code });
  return { attemptId, email };
}
