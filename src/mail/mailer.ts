/**
 * Outgoing email: one nodemailer transport from SMTP_URL, messages rendered from
 * `views/emails/<name>.text.hbs` and `.html.hbs` so every email has both parts.
 */
import nodemailer from "nodemailer";
import type { Config } from "../config.js";
import type { Views } from "../views.js";

export type Mailer = {
  /** Renders and sends `template` to `to`; rejects if the SMTP server refuses it. */
  send(to: string, template: string, data: Record<string, unknown>): Promise<void>;
  close(): void;
};

export function createMailer(config: Pick<Config, "smtpUrl" | "mailFrom" | "publicUrl">, views: Views): Mailer {
  const url = new URL(config.smtpUrl);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: Number(url.port) || (url.protocol === "smtps:" ? 465 : 587),
    secure: url.protocol === "smtps:",
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    // Fail fast: a stuck SMTP server must not hold a sign-up request for minutes.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    async send(to, template, data) {
      const context = { ...data, siteUrl: config.publicUrl };
      const { subject, text, html } = views.renderEmail(template, context);
      await transport.sendMail({ from: config.mailFrom, to, subject, text, html });
    },
    close: () => transport.close(),
  };
}
