/**
 * Backup archives are signed: an HMAC-SHA256 over every byte of the (uncompressed) archive
 * before its last line, which holds the MAC. A restore replaces accounts, password hashes and
 * wrapped room keys, so it must take only what this installation (or one whose key the
 * operator names) wrote: a well-formed file from anywhere else is refused.
 *
 * The key is purpose-bound (src/keys.ts): the first session secret, or BACKUP_SIGNING_KEY when
 * set, through HKDF with "backup-signing", so it signs nothing else and no key derived for
 * another purpose (CSRF, email codes) reveals it. Verification accepts every
 * configured secret, newest first, so rotating SESSION_SECRETS keeps older archives usable as
 * long as the old secret stays listed, as it does for sessions.
 */
import { createHmac, timingSafeEqual, type Hmac } from "node:crypto";
import { DEV_SESSION_SECRET, type Config } from "../config.js";
import { deriveKey } from "../keys.js";

export const ALGORITHM = "HMAC-SHA256";
const PURPOSE = "backup-signing";

export type BackupKeys = {
  /** Signs new archives. */
  signing: Buffer;
  /** Any of these verifies an archive. */
  verifying: readonly Buffer[];
  /** Signed with the public development secret: anyone could forge such an archive. */
  insecure: boolean;
};

/** The backup keys of `config`: BACKUP_SIGNING_KEY first when set, then the session secrets. */
export function backupKeys(config: Pick<Config, "backupSigningKey" | "sessionSecrets">): BackupKeys {
  const secrets = [...(config.backupSigningKey ? [config.backupSigningKey] : []), ...config.sessionSecrets];
  const first = secrets[0];
  if (first === undefined) throw new Error("no secret to sign backups with: set SESSION_SECRETS or BACKUP_SIGNING_KEY");
  return {
    signing: deriveKey(first, PURPOSE),
    verifying: secrets.map((secret) => deriveKey(secret, PURPOSE)),
    insecure: first === DEV_SESSION_SECRET,
  };
}

/** MACs what is written, then answers the archive's last line. */
export function signer(key: Buffer): { update(text: string): void; signatureLine(): string } {
  const mac = createHmac("sha256", key);
  return {
    update: (text) => mac.update(text),
    signatureLine: () => `${JSON.stringify({ signature: mac.digest("base64url"), algorithm: ALGORITHM })}\n`,
  };
}

/** MACs what is read under every key at once; `matches` compares in constant time. */
export function verifier(keys: readonly Buffer[]): { update(bytes: Buffer): void; matches(signature: string): boolean } {
  const macs: Hmac[] = keys.map((key) => createHmac("sha256", key));
  return {
    update: (bytes) => macs.forEach((mac) => mac.update(bytes)),
    matches(signature) {
      const given = Buffer.from(signature, "base64url");
      // Every key is tried, whichever matches, so the time taken tells nothing.
      let matched = false;
      for (const mac of macs) {
        const expected = mac.digest();
        if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
      }
      return matched;
    },
  };
}
