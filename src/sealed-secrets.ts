/**
 * Small secrets that must be stored yet stay unreadable to someone holding a copy of the
 * database (an authenticator app's shared secret): AES-256-GCM under a key derived for one
 * purpose from a master key (`MASTER_KEYS`), bound to its owner by the associated data, so a
 * sealed value copied onto another account or read for another purpose fails to open.
 * The master key's id travels with the value: after a rotation (new key first, old ones kept
 * in the list) old values still open, and new ones are sealed under the newest key.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import type { MasterKey } from "./master-keys.js";

const VERSION = "s1";

function purposeKey(master: MasterKey, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", master.key, "duet-sealed", purpose, 32));
}

/** Seals `plaintext` for `purpose` and `owner` under the newest master key. */
export function sealSecret(keys: readonly MasterKey[], purpose: string, owner: string, plaintext: string): string {
  const master = keys[0];
  if (!master) throw new Error("no master key configured");
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", purposeKey(master, purpose), iv);
  cipher.setAAD(Buffer.from(`${purpose}\0${owner}`));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [
    VERSION,
    master.id,
    iv.toString("base64url"),
    body.toString("base64url"),
    cipher.getAuthTag().toString("base64url"),
  ].join(".");
}

/** Opens a value sealed by sealSecret for the same purpose and owner; undefined if it does not open. */
export function openSecret(keys: readonly MasterKey[], purpose: string, owner: string, sealed: string): string | undefined {
  const [version, keyId, iv, body, tag] = sealed.split(".");
  const master = keys.find((k) => k.id === keyId);
  if (version !== VERSION || !master || !iv || body === undefined || !tag) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", purposeKey(master, purpose), Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(`${purpose}\0${owner}`));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    // A wrong key, owner or purpose, or a changed byte: all the same to the caller.
    return undefined;
  }
}

/** The id of the master key `sealed` was sealed under (undefined for a value that is not one). */
export function sealedUnder(sealed: string): string | undefined {
  const [version, keyId] = sealed.split(".");
  return version === VERSION ? keyId : undefined;
}
