/**
 * Re-authentication before sensitive changes (email, password, two-factor, deleting the
 * account): a signed-in session alone is not enough, since it may be a browser left open or a
 * stolen cookie. The user proves themselves again, with the password or with Google, and that
 * proof counts for ten minutes in this session only.
 */
import { verifyPassword } from "./passwords.js";
import { UserModel } from "./user.model.js";

export const REAUTH_WINDOW_MS = 10 * 60_000;

/** Whether a proof made at `reauthAt` still counts. */
export function recentlyConfirmed(reauthAt: number | undefined, now = Date.now()): boolean {
  return reauthAt !== undefined && reauthAt <= now && now - reauthAt < REAUTH_WINDOW_MS;
}

export type IdentityCheck = { ok: true; fresh: boolean } | { ok: false; reason: "wrong" | "needed" };

/**
 * A typed password is checked (and is a fresh proof); without one, a proof from the last ten
 * minutes (`reauthAt`) is needed.
 */
export async function confirmIdentity(
  userId: string,
  password: string | undefined,
  reauthAt: number | undefined,
): Promise<IdentityCheck> {
  if (password) {
    const user = await UserModel.findById(userId, { passwordHash: 1 }).lean();
    return (await verifyPassword(password, user?.passwordHash)) ? { ok: true, fresh: true } : { ok: false, reason: "wrong" };
  }
  return recentlyConfirmed(reauthAt) ? { ok: true, fresh: false } : { ok: false, reason: "needed" };
}
