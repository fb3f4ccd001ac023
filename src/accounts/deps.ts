import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import type { Mailer } from "../mail/mailer.js";
import type { MasterKey } from "../master-keys.js";

/** What account logic needs from the outside world. */
export type AccountsDeps = {
  mailer: Mailer;
  log: Logger;
  redis: Redis;
  /** HMAC key for emailed codes (derived from the app secret). */
  codeKey: Buffer;
  /** The master keys (config): stored secrets such as authenticator apps' are sealed under keys derived from them. */
  masterKeys: readonly MasterKey[];
  publicUrl: string;
  /** Conversations sit above accounts, so what accounts need of them is passed in (app.ts). */
  conversations: ConversationHooks;
};

export type ConversationHooks = {
  /** Whether the two users have a conversation: only then may they see each other's profile. */
  sharesRoom(a: string, b: string): Promise<boolean>;
  /** Removes the content of everything the user wrote (their account is being deleted). */
  eraseMessagesOf(userId: string): Promise<void>;
  /** Called once an account is deleted, so its open conversations stop taking messages. */
  accountDeleted(userId: string): Promise<void>;
};

/**
 * Sends without making the request wait. Waiting would make "this email has an account"
 * measurably slower or faster than "it has not", and an SMTP hiccup must not fail a sign-up
 * that is already saved (the user can ask for the code again).
 */
export function sendInBackground(deps: AccountsDeps, to: string, template: string, data: Record<string, unknown>): void {
  deps.mailer.send(to, template, data).catch((err: unknown) => deps.log.error({ err, template }, "email not sent"));
}
