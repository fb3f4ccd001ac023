/** Sealed messages as hub events carry them (base64 text in JSON) and back. */
import type { SealedMessage } from "./cipher.js";
import type { SealedWire } from "./hub.js";

export const toWire = (s: SealedMessage): SealedWire => ({
  v: s.v,
  keyId: s.keyId,
  iv: s.iv.toString("base64"),
  ct: s.ct.toString("base64"),
  mac: s.mac.toString("base64"),
});

export const fromWire = (w: SealedWire): SealedMessage => ({
  v: w.v,
  keyId: w.keyId,
  iv: Buffer.from(w.iv, "base64"),
  ct: Buffer.from(w.ct, "base64"),
  mac: Buffer.from(w.mac, "base64"),
});
