/**
 * What an attachment message holds, sealed like any message (kind "attachment", which the MAC
 * binds): its caption and the attachment's description, as JSON. The file itself is stored apart.
 */
import { CipherError } from "../cipher.js";
import type { AttachmentInfo } from "../protocol.js";

export const ATTACHMENT_KIND = "attachment";

export const attachmentContent = (caption: string, attachment: AttachmentInfo) => JSON.stringify({ caption, attachment });

/** The message's text and attachment from its opened plaintext; a text message's is its text. */
export function readContent(kind: string | undefined, plaintext: string): { text: string; attachment?: AttachmentInfo } {
  if (kind !== ATTACHMENT_KIND) return { text: plaintext };
  let parsed: { caption?: unknown; attachment?: AttachmentInfo };
  try {
    parsed = JSON.parse(plaintext) as typeof parsed;
  } catch {
    throw new CipherError("attachment message is malformed");
  }
  if (typeof parsed.caption !== "string" || typeof parsed.attachment?.id !== "string")
    throw new CipherError("attachment message is malformed");
  return { text: parsed.caption, attachment: parsed.attachment };
}
