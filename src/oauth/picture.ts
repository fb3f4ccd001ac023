/**
 * The profile picture from the `picture` claim. The URL comes from a signed token, but fetching
 * whatever it names would still let a provider (or a misconfiguration) point our servers at
 * internal addresses, so only configured https origins are fetched, without following
 * redirects, within 5 seconds and 5 MB, and the bytes are re-encoded like any upload.
 */
import { MAX_AVATAR_BYTES, processAvatar } from "../accounts/avatars.js";

const TIMEOUT_MS = 5000;

/** The picture at `url` as a 256×256 WebP, or undefined when it is not allowed or not usable. */
export async function fetchPicture(url: string | undefined, allowedOrigins: readonly string[]): Promise<Buffer | undefined> {
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "https:" || !allowedOrigins.includes(parsed.origin) || parsed.username || parsed.password) {
    return undefined;
  }
  const res = await fetch(parsed, { redirect: "error", signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok || !res.body) return undefined;
  if (Number(res.headers.get("content-length") ?? 0) > MAX_AVATAR_BYTES) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_AVATAR_BYTES) return undefined;
    chunks.push(chunk);
  }
  return processAvatar(Buffer.concat(chunks));
}
