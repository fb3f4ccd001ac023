/** Reads the mail catcher's inbox (MailDev's REST API) for tests: real emails, really sent. */
import { setTimeout as sleep } from "node:timers/promises";

export type Email = { id: string; subject: string; text: string; html: string; date: string; to: Array<{ address: string }> };

/** The ids of the emails `to` has now: pass as `since` to wait only for what comes after. */
export async function inboxMark(mailUrl: string, to: string): Promise<Set<string>> {
  return new Set((await emailsTo(mailUrl, to)).map((m) => m.id));
}

/** The first email to `to` matching `subject` that is not in `since`, waiting for it to arrive. */
export async function waitForEmail(
  mailUrl: string,
  to: string,
  options: { subject?: RegExp; since?: Set<string>; timeoutMs?: number } = {},
): Promise<Email> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (Date.now() < deadline) {
    const found = (await emailsTo(mailUrl, to)).find(
      (m) => (!options.subject || options.subject.test(m.subject)) && !options.since?.has(m.id),
    );
    if (found) return found;
    await sleep(100);
  }
  throw new Error(
    `no email to ${to}${options.subject ? ` matching ${options.subject}` : ""} within ${options.timeoutMs ?? 10_000} ms`,
  );
}

export async function emailsTo(mailUrl: string, to: string): Promise<Email[]> {
  // MailDev filters by recipient itself (exact match; Duet sends to the lowercased address), so a
  // wait late in a run does not fetch and parse every email the run has sent so far.
  const res = await fetch(`${mailUrl}/email?to.address=${encodeURIComponent(to.toLowerCase())}`);
  if (!res.ok) throw new Error(`mail inbox answered ${res.status}`);
  const all = (await res.json()) as Email[];
  return all.filter((m) => m.to.some((r) => r.address.toLowerCase() === to.toLowerCase()));
}

/** The 6-digit code in a code email. */
export function codeIn(email: Email): string {
  const match = /\b(\d{6})\b/.exec(email.text);
  if (!match?.[1]) throw new Error(`no code in email "${email.subject}"`);
  return match[1];
}

/** The first link to `path` on the site in an email. */
export function linkIn(email: Email, path: string): string {
  const match = new RegExp(`https://[^\\s"]+${path.replace(/[/?]/g, "\\$&")}[^\\s"<]*`).exec(email.text);
  if (!match) throw new Error(`no ${path} link in email "${email.subject}"`);
  return match[0];
}

/** A fresh address nobody has used, so tests never see each other's mail. */
export function uniqueEmail(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.test`;
}
