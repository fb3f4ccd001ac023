/**
 * grant, configured for OpenID Connect with Google (or whatever the GOOGLE_* endpoints name).
 *
 * grant is strict only where told to be, so every safety switch is set explicitly: `state`,
 * `nonce` and `pkce` (S256) are true; `dynamic` is never set, so the query string cannot
 * override the provider, scopes or redirect URI; the redirect URI comes from PUBLIC_URL, never
 * from the request's Host header; and the tokens travel in the server-side session, never in
 * a URL. grant skips the state check when the session holds no state, which is why the routes
 * refuse a callback without a pending sign-in before grant sees it.
 */
import type { Context, Middleware } from "koa";
import grantModule, { type GrantResponse, type GrantSession } from "grant";
import type { Config, GoogleConfig } from "../config.js";
import { sessionOf } from "../accounts/routes/context.js";
import type { KoaSession } from "../http/session.js";

export const GOOGLE_START_PATH = "/auth/google";
/** The same sign-in, but the provider must ask for the Google password again (`prompt=login`). */
export const GOOGLE_REAUTH_PATH = "/auth/google/reauth";
import { GOOGLE_CALLBACK_PATH } from "./paths.js";

export { GOOGLE_CALLBACK_PATH };
/** Where grant sends the browser once the code is exchanged; the tokens wait in the session. */
export const GOOGLE_DONE_PATH = "/auth/google/done";

/** The session fields this module owns. */
export type OAuthSessionFields = {
  /** grant's own: state, nonce, PKCE verifier, and after the callback the token response. */
  grant?: GrantSession;
  /** A Google identity waiting for the local account's password before it is linked. */
  googleLink?: { userId: string; sub: string; email: string; expiresAt: number };
  /** A signed-in user confirming it's them before a sensitive change; back to `next` afterwards. */
  googleReauth?: { userId: string; next: string; expiresAt: number };
};

export function oauthSession(ctx: Context): KoaSession & OAuthSessionFields {
  return sessionOf(ctx) as KoaSession & OAuthSessionFields;
}

export function googleGrant(config: Pick<Config, "publicUrl">, google: GoogleConfig): Middleware {
  // grant is CommonJS: Node's default import is module.exports, whose `default` is grant itself.
  return grantModule.default.koa()({
    config: {
      defaults: { prefix: "/auth", origin: config.publicUrl, transport: "session", state: true, nonce: true, pkce: true },
      google: {
        key: google.clientId,
        secret: google.clientSecret,
        authorize_url: google.authorizeUrl,
        access_url: google.tokenUrl,
        oauth: 2,
        scope: ["openid", "email", "profile"],
        scope_delimiter: " ",
        redirect_uri: `${config.publicUrl}${GOOGLE_CALLBACK_PATH}`,
        callback: GOOGLE_DONE_PATH,
        // Keep only the tokens (not the raw response) in the session, for as long as one redirect.
        response: ["tokens"],
        token_endpoint_auth_method: "client_secret_post",
        // GOOGLE_REAUTH_PATH: a Google session already open in the browser is not proof enough.
        overrides: { reauth: { custom_params: { prompt: "login" } } },
      },
    },
    // A provider that does not answer fails the sign-in in 5 s instead of hanging the request.
    request: { timeout: 5000 },
  }) as Middleware;
}

/**
 * A grant session that is waiting for its callback: started here, for Google, not yet answered.
 * (After the start grant leaves the authorize URL, a string, in `response`; the callback's
 * answer is an object.)
 */
export function awaitingCallback(session: GrantSession | undefined): boolean {
  if (!session || session.provider !== "google") return false;
  return Boolean(session.state && session.nonce && session.code_verifier) && typeof session.response !== "object";
}

export type ProviderAnswer =
  | { ok: true; idToken: string; nonce: string }
  | { ok: false; reason: "cancelled" | "state" | "used" | "invalid" | "provider"; detail: string };

/** Reads the outcome grant left in the session (the caller has already removed it from there). */
export function providerAnswer(session: GrantSession | undefined): ProviderAnswer {
  const response: GrantResponse | undefined = session?.response;
  if (!session || typeof response !== "object" || response === null)
    return { ok: false, reason: "used", detail: "no pending sign-in" };
  const error: unknown = response.error;
  if (error !== undefined) {
    const code = typeof error === "string" ? error : String((error as { error?: unknown }).error ?? "unknown");
    const detail = typeof error === "string" ? error : JSON.stringify(error).slice(0, 300);
    if (code === "access_denied") return { ok: false, reason: "cancelled", detail };
    if (code === "Grant: OAuth2 state mismatch") return { ok: false, reason: "state", detail };
    // The token endpoint's answer to a code that was already used (or has expired).
    if (code === "invalid_grant") return { ok: false, reason: "used", detail };
    // grant's own decoding of the ID token failed (e.g. another audience): not to be believed.
    if (code.startsWith("Grant: OpenID Connect")) return { ok: false, reason: "invalid", detail };
    return { ok: false, reason: "provider", detail };
  }
  if (typeof response.id_token !== "string" || !session.nonce) {
    return { ok: false, reason: "provider", detail: "no ID token in the token response" };
  }
  return { ok: true, idToken: response.id_token, nonce: session.nonce };
}
