/**
 * The master keys from config (`MASTER_KEYS`): they wrap each room's data key (chat/cipher.ts).
 * Parsed here, below every feature, because config validates them at start-up.
 */

export type MasterKey = { id: string; key: Buffer };

/** A malformed MASTER_KEYS entry; the message names which one and how to make a good one. */
export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MasterKeyError";
  }
}

const MASTER_KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Parses `id:base64key,id:base64key` (newest first); throws naming the bad entry. */
export function parseMasterKeys(raw: string): MasterKey[] {
  const keys = raw.split(",").map((entry, i) => {
    const [id = "", encoded = ""] = entry.trim().split(":");
    if (!MASTER_KEY_ID.test(id))
      throw new MasterKeyError(`entry ${i + 1}: the key id must be 1-32 letters, digits, _ or - (format id:base64key)`);
    const key = Buffer.from(encoded, "base64");
    if (key.length !== 32 || key.toString("base64") !== encoded) {
      throw new MasterKeyError(
        `entry ${i + 1} (${id}): the key must be 32 bytes in base64; generate one with \`openssl rand -base64 32\``,
      );
    }
    return { id, key };
  });
  const ids = new Set(keys.map((k) => k.id));
  if (ids.size !== keys.length) throw new MasterKeyError("two master keys share an id");
  return keys;
}
