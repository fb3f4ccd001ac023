/** Signing in with an email and a password. */
import type { AccountsDeps } from "./deps.js";
import { latestAttempt } from "./pending-signups.js";
import { verifyPassword } from "./passwords.js";
import { resumeSignUp, type PendingSignUp } from "./signup.js";
import { normalizeEmail, UserModel } from "./user.model.js";

export type SignInCheck =
  | { kind: "account"; userId: string }
  /** The password of a sign-up that was never confirmed: it goes back to the code page. */
  | { kind: "needs-code"; pending: PendingSignUp }
  | { kind: "wrong" };

/**
 * Checks an email and password. An address without a verified account has no account to enter:
 * the password of its latest sign-up (or of an unverified account from an earlier version)
 * only leads to a fresh code for that sign-up.
 */
export async function checkSignIn(deps: AccountsDeps, rawEmail: string, password: string): Promise<SignInCheck> {
  const email = normalizeEmail(rawEmail);
  // Both looked up every time, and exactly one argon2 verification (a decoy when neither has a
  // password): the answer's timing does not tell which of the two exists.
  const [user, attempt] = await Promise.all([UserModel.findOne({ email }).lean(), latestAttempt(email)]);
  const passwordHash = user ? user.passwordHash : attempt?.passwordHash;
  if (!(await verifyPassword(password, passwordHash))) return { kind: "wrong" };
  if (user?.emailVerified) return { kind: "account", userId: String(user._id) };
  if (user) return { kind: "needs-code", pending: await resumeSignUp(deps, { legacy: user }) };
  if (!attempt) return { kind: "wrong" };
  return { kind: "needs-code", pending: await resumeSignUp(deps, { attempt }) };
}
