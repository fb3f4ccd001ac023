/**
 * Master-key rotation for two-factor secrets: each authenticator secret sealed under an older
 * master key is opened and sealed again under the newest, so the old key can leave MASTER_KEYS
 * without locking anyone out of their account. Run by scripts/rotate-keys with the room keys.
 * Each update is conditional on the value read, so a secret changed meanwhile (two-factor
 * turned off and on again) is never overwritten with the old one.
 */
import type { MasterKey } from "../master-keys.js";
import { openSecret, sealSecret, sealedUnder } from "../sealed-secrets.js";
import { TOTP_PURPOSE, TwoFactorModel } from "./two-factor.js";

export type ResealReport = { resealed: number; alreadyCurrent: number; failed: Array<{ userId: string; reason: string }> };

export async function resealTwoFactorSecrets(masters: readonly MasterKey[]): Promise<ResealReport> {
  const [newest] = masters;
  if (!newest) throw new Error("no master key configured");
  const report: ResealReport = { resealed: 0, alreadyCurrent: 0, failed: [] };
  for await (const doc of TwoFactorModel.find({}, { userId: 1, secret: 1 }).lean().cursor()) {
    const userId = String(doc.userId);
    const keyId = sealedUnder(doc.secret);
    if (keyId === newest.id) {
      report.alreadyCurrent++;
      continue;
    }
    const secret = openSecret(masters, TOTP_PURPOSE, userId, doc.secret);
    if (secret === undefined) {
      const reason = masters.some((k) => k.id === keyId)
        ? "the two-factor secret does not open (damaged, or sealed for another account)"
        : `the two-factor secret is sealed by master key "${keyId ?? "?"}", which is not configured`;
      report.failed.push({ userId, reason });
      continue;
    }
    const result = await TwoFactorModel.updateOne(
      { _id: doc._id, secret: doc.secret },
      { $set: { secret: sealSecret([newest], TOTP_PURPOSE, userId, secret) } },
    );
    if (result.modifiedCount === 1) report.resealed++;
    else report.alreadyCurrent++;
  }
  return report;
}
