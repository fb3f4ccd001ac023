/**
 * Every route of the app, as the form fuzzer sends it: the fields its form (or query) takes and
 * what kind of value each expects, who sends it, and what its success looks like. Only a
 * success may change anything. routes.test.ts checks that this list names every route the
 * routers declare, so a new route is fuzzed from the day it is added.
 */
import type { Page } from "../../src/test/browser.js";

export type FieldKind =
  | "email"
  | "name"
  | "status"
  | "password"
  /** A password that is never the account's: for forms whose success cannot be undone (delete). */
  | "wrongPassword"
  | "newPassword"
  | "code"
  | "token"
  | "next"
  | "text"
  | "number"
  | "flag";

/**
 * Who sends it. member: the fuzzing user's session, kept throughout; visitor: a new signed-out
 * browser each time; pending: a browser with a sign-up waiting for its code; leaver: another
 * session of the fuzzing user, for signing out.
 */
export type Sender = "member" | "visitor" | "pending" | "leaver";

export type FuzzRoute = {
  method: "GET" | "POST";
  /** With `:room`, `:id` or `:handle`, which the fuzzer fills with real and hostile values. */
  path: string;
  /** Body fields of a POST, query parameters of a GET. */
  fields: Record<string, FieldKind>;
  as: Sender;
  multipart?: true;
  /** What success looks like; without it the route never changes anything. */
  success?: (page: Page) => boolean;
  /**
   * Sent by a session that has not re-authenticated lately: a proof from an earlier success
   * (a right password) would let an empty password through, and this route cannot be undone.
   */
  staleReauth?: true;
};

const redirectTo = (pattern: RegExp) => (page: Page) => page.status === 302 && pattern.test(page.location ?? "");

export const ROUTES: readonly FuzzRoute[] = [
  { method: "GET", path: "/", fields: {}, as: "visitor" },
  { method: "GET", path: "/healthz", fields: { verbose: "flag" }, as: "visitor" },
  { method: "GET", path: "/readyz", fields: { verbose: "flag" }, as: "visitor" },

  { method: "GET", path: "/signup", fields: {}, as: "visitor" },
  {
    method: "POST",
    path: "/signup",
    fields: { email: "email", displayName: "name", password: "newPassword" },
    as: "visitor",
    success: redirectTo(/^\/signup\/verify$/),
  },
  { method: "GET", path: "/signup/verify", fields: { resent: "flag" }, as: "pending" },
  {
    method: "POST",
    path: "/signup/verify",
    fields: { code: "code" },
    as: "pending",
    success: redirectTo(/^\/chat\?welcome=1$/),
  },
  { method: "POST", path: "/signup/resend", fields: {}, as: "pending", success: redirectTo(/^\/signup\/verify\?resent=1$/) },

  { method: "GET", path: "/signin", fields: { next: "next", reset: "flag", deleted: "flag" }, as: "visitor" },
  {
    method: "POST",
    path: "/signin",
    fields: { email: "email", password: "password", next: "next" },
    as: "visitor",
    success: (page) => page.status === 302 && page.location !== "/signup/verify",
  },
  { method: "POST", path: "/signout", fields: {}, as: "leaver", success: redirectTo(/^\/$/) },

  { method: "GET", path: "/forgot", fields: {}, as: "visitor" },
  { method: "POST", path: "/forgot", fields: { email: "email" }, as: "visitor", success: (page) => page.status === 200 },
  { method: "GET", path: "/reset", fields: { token: "token" }, as: "visitor" },
  {
    method: "POST",
    path: "/reset",
    fields: { token: "token", password: "newPassword" },
    as: "visitor",
    success: redirectTo(/^\/profile\?reset=1$/),
  },

  { method: "GET", path: "/profile", fields: { verifyEmail: "email", welcome: "flag", saved: "flag" }, as: "member" },
  {
    method: "POST",
    path: "/profile",
    fields: { displayName: "name", status: "status" },
    as: "member",
    success: redirectTo(/^\/profile\?saved=1$/),
  },
  {
    method: "POST",
    path: "/profile/avatar",
    fields: { avatar: "text" },
    as: "member",
    multipart: true,
    success: redirectTo(/^\/profile\?avatar=1$/),
  },
  { method: "POST", path: "/profile/avatar/remove", fields: {}, as: "member", success: redirectTo(/^\/profile\?avatar=1$/) },
  {
    method: "POST",
    path: "/profile/notification-text",
    fields: { showText: "flag" },
    as: "member",
    success: redirectTo(/^\/profile\?text(Shown|Hidden)=1#notifications$/),
  },
  {
    method: "POST",
    path: "/profile/password",
    fields: { currentPassword: "password", newPassword: "newPassword" },
    as: "member",
    success: redirectTo(/^\/profile\?password=1$/),
  },
  {
    method: "POST",
    path: "/profile/email",
    fields: { email: "email", currentPassword: "password" },
    as: "member",
    success: redirectTo(/^\/profile\?verifyEmail=/),
  },
  {
    method: "POST",
    path: "/profile/email/verify",
    fields: { pendingEmail: "email", code: "code" },
    as: "member",
    success: redirectTo(/^\/profile\?email=1$/),
  },
  {
    method: "POST",
    path: "/profile/sessions/revoke-others",
    fields: {},
    as: "member",
    success: redirectTo(/^\/profile\?revoked=1#sessions$/),
  },
  {
    method: "POST",
    path: "/profile/sessions/:handle/revoke",
    fields: {},
    as: "member",
    success: redirectTo(/^\/profile(\?revoked=1)?#sessions$/),
  },
  {
    method: "POST",
    path: "/profile/delete",
    fields: { currentPassword: "wrongPassword" },
    as: "member",
    staleReauth: true,
    success: redirectTo(/^\/signin\?deleted=1$/),
  },
  { method: "GET", path: "/profile/two-factor", fields: { recoveryLeft: "number", off: "flag" }, as: "member" },
  {
    method: "POST",
    path: "/profile/two-factor/setup",
    fields: { currentPassword: "password" },
    as: "member",
    success: redirectTo(/^\/profile\/two-factor#setup$/),
  },
  {
    method: "POST",
    path: "/profile/two-factor/confirm",
    fields: { code: "code" },
    as: "member",
    success: (page) => page.status === 200 && /Two-factor sign-in is on/.test(page.text),
  },
  {
    method: "POST",
    path: "/profile/two-factor/recovery-codes",
    fields: { currentPassword: "password" },
    as: "member",
    success: (page) => page.status === 200 && /Your new recovery codes/.test(page.text),
  },
  {
    method: "POST",
    path: "/profile/two-factor/disable",
    fields: { currentPassword: "password", code: "code" },
    as: "member",
    success: redirectTo(/^\/profile\/two-factor\?off=1$/),
  },
  { method: "GET", path: "/signin/two-factor", fields: { recovery: "flag" }, as: "visitor" },
  { method: "POST", path: "/signin/two-factor", fields: { code: "code", recoveryCode: "text" }, as: "visitor" },
  { method: "GET", path: "/profile/passkeys", fields: { added: "flag", renamed: "flag", removed: "flag" }, as: "member" },
  // Passkey ceremonies: options (a challenge kept in the session, nothing stored) and answers.
  {
    method: "POST",
    path: "/profile/passkeys/options",
    fields: { currentPassword: "password" },
    as: "member",
    success: (page) => page.status === 200,
  },
  { method: "POST", path: "/profile/passkeys", fields: { response: "text", name: "name" }, as: "member" },
  {
    method: "POST",
    path: "/profile/passkeys/:id/rename",
    fields: { name: "name" },
    as: "member",
    success: redirectTo(/^\/profile\/passkeys\?renamed=1$/),
  },
  {
    method: "POST",
    path: "/profile/passkeys/:id/remove",
    fields: { currentPassword: "wrongPassword" },
    as: "member",
    staleReauth: true,
    success: redirectTo(/^\/profile\/passkeys\?removed=1$/),
  },
  { method: "POST", path: "/signin/passkey/options", fields: {}, as: "visitor", success: (page) => page.status === 200 },
  { method: "POST", path: "/signin/passkey", fields: { response: "text", next: "next" }, as: "visitor" },
  { method: "POST", path: "/signin/two-factor/passkey/options", fields: {}, as: "visitor" },
  { method: "POST", path: "/signin/two-factor/passkey", fields: { response: "text" }, as: "visitor" },
  { method: "POST", path: "/reauth/passkey/options", fields: {}, as: "member", success: (page) => page.status === 200 },
  { method: "POST", path: "/reauth/passkey", fields: { response: "text" }, as: "member" },
  { method: "GET", path: "/avatars/:id", fields: { v: "number" }, as: "member" },
  { method: "GET", path: "/people/:id", fields: {}, as: "member" },

  { method: "GET", path: "/auth/google", fields: { prompt: "text" }, as: "visitor" },
  { method: "GET", path: "/auth/google/callback", fields: { code: "token", state: "token", error: "text" }, as: "visitor" },
  { method: "GET", path: "/auth/google/done", fields: {}, as: "visitor" },
  { method: "GET", path: "/auth/google/reauth", fields: { next: "next" }, as: "member" },
  { method: "GET", path: "/auth/google/link", fields: {}, as: "visitor" },
  { method: "POST", path: "/auth/google/link", fields: { password: "password" }, as: "visitor" },
  { method: "POST", path: "/profile/google/unlink", fields: {}, as: "member", success: (page) => page.status === 302 },

  { method: "GET", path: "/chat", fields: {}, as: "member" },
  { method: "POST", path: "/chat/start", fields: { email: "email" }, as: "member", success: redirectTo(/^\/chat\/[\w-]{22}$/) },
  {
    method: "POST",
    path: "/chat/invite",
    fields: { email: "email" },
    as: "member",
    success: (page) => page.status === 200 && /Invitation sent/.test(page.text),
  },
  { method: "GET", path: "/chat/:room", fields: {}, as: "member" },
  { method: "GET", path: "/api/rooms/:room/messages", fields: { before: "number", limit: "number" }, as: "member" },
  { method: "POST", path: "/chat/:room/block", fields: {}, as: "member", success: redirectTo(/^\/chat\/[\w-]{22}$/) },
  { method: "POST", path: "/chat/:room/unblock", fields: {}, as: "member", success: redirectTo(/^\/chat\/[\w-]{22}$/) },
  { method: "POST", path: "/chat/:room/hide", fields: {}, as: "member", success: redirectTo(/^\/chat$/) },
  { method: "POST", path: "/chat/:room/mute", fields: {}, as: "member", success: redirectTo(/^\/chat\/[\w-]{22}$/) },
  { method: "POST", path: "/chat/:room/unmute", fields: {}, as: "member", success: redirectTo(/^\/chat\/[\w-]{22}$/) },

  // Notifications and the installable app (decision 010). The subscription takes JSON only.
  { method: "GET", path: "/sw.js", fields: {}, as: "visitor" },
  { method: "GET", path: "/manifest.webmanifest", fields: {}, as: "visitor" },
  { method: "GET", path: "/offline", fields: {}, as: "visitor" },
  { method: "GET", path: "/api/push", fields: {}, as: "member" },
  {
    method: "POST",
    path: "/api/push/subscription",
    fields: { endpoint: "text" },
    as: "member",
    success: (page) => page.status === 201,
  },
  { method: "POST", path: "/api/push/subscription/remove", fields: {}, as: "member", success: (page) => page.status === 200 },
  {
    method: "POST",
    path: "/profile/sessions/:handle/notifications-off",
    fields: {},
    as: "member",
    success: redirectTo(/^\/profile\?notificationsOff=1#sessions$/),
  },
  { method: "POST", path: "/chat/:room/archive", fields: {}, as: "member", success: redirectTo(/^\/chat$/) },
  { method: "POST", path: "/chat/:room/unarchive", fields: {}, as: "member", success: redirectTo(/^\/chat\/[\w-]{22}$/) },
  // Searching changes nothing (the query is kept nowhere): no success to look for.
  { method: "POST", path: "/api/rooms/:room/search", fields: { q: "text", before: "number" }, as: "member" },
  { method: "GET", path: "/chat/:room/delete", fields: {}, as: "member" },
  // Sent signed out: the member's own room is what every other attack talks in, and a success
  // here destroys it (integration tests cover the member's and the stranger's deletions).
  { method: "POST", path: "/chat/:room/delete", fields: {}, as: "visitor" },
  // Uploads need their client id in the query, which the fuzzer does not set: every one is a 400.
  { method: "POST", path: "/api/rooms/:room/attachments", fields: {}, as: "member", multipart: true },
  { method: "GET", path: "/api/rooms/:room/attachments/:from/:id", fields: {}, as: "member" },
  { method: "GET", path: "/api/rooms/:room/attachments/:from/:id/preview", fields: {}, as: "member" },
  { method: "GET", path: "/api/rooms/:room/attachments/:from/:id/audio", fields: {}, as: "member" },
  { method: "GET", path: "/profile/export", fields: {}, as: "member" },
  {
    method: "POST",
    path: "/profile/export",
    fields: { currentPassword: "password" },
    as: "member",
    success: (page) => page.status === 200 && page.headers.get("content-type") === "application/zip",
  },
];
