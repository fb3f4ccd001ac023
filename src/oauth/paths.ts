/** Where the identity provider sends the browser back (the redirect URI registered with it). */
export const GOOGLE_CALLBACK_PATH = "/auth/google/callback";
