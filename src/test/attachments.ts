/** Uploading and fetching attachments as a browser would, for integration tests. */
import type { AttachmentInfo } from "../chat/protocol.js";
import type { TestBrowser } from "./browser.js";

/** What a browser fetches: bytes and headers, with the browser's session cookies. */
export async function fetchAs(browser: TestBrowser, base: string, path: string): Promise<Response> {
  const cookie = ["__Host-duet.sid", "__Host-duet.sid.sig"].map((n) => `${n}=${browser.cookie(n) ?? ""}`).join("; ");
  return fetch(`${base}${path}`, { headers: { Cookie: cookie, "X-Forwarded-Proto": "https", "X-Forwarded-For": browser.ip } });
}

/** Uploads `file` into `roomId` under `clientId`, the way the composer does. */
export async function upload(
  browser: TestBrowser,
  roomId: string,
  clientId: string,
  file: { name: string; type: string; data: Buffer },
): Promise<{ status: number; body: { attachment?: AttachmentInfo; error?: { code: string; message: string } } }> {
  const page = await browser.upload(`/api/rooms/${roomId}/attachments?clientId=${clientId}`, {}, { field: "file", ...file });
  return { status: page.status, body: JSON.parse(page.html) as never };
}
