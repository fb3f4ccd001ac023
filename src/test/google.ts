/**
 * Drives "Continue with Google" against the stack's real OpenID provider (scripts/oidc-provider.ts):
 * the app's redirect is followed to the provider, its sign-in form is submitted as a person
 * would, and the provider's redirect back is handed to the app, in the same test browser.
 */
import { uniqueEmail } from "../../scripts/lib/mailbox.js";
import type { Page, TestBrowser } from "./browser.js";
import { stack } from "./stack.js";

export type GoogleIdentity = {
  email?: string;
  name?: string;
  emailVerified?: boolean;
  sub?: string;
  /** Makes the provider misbehave: see scripts/oidc-provider-pages.ts. */
  quirk?: "none" | "wrong-audience" | "expired";
  /** Press "Cancel" at the provider instead of signing in. */
  cancel?: boolean;
  /** Where on the app the sign-in starts (default /auth/google). */
  start?: string;
};

/** A fetch with its own cookie jar, for the provider's origin (the app's jar is the test browser's). */
function providerClient() {
  const jar = new Map<string, string>();
  return async (url: string, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers as Record<string, string>), Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  };
}

/** Starts the sign-in on the app and signs in at the provider; returns the app path the provider sent the browser back to. */
export async function signInAtProvider(browser: TestBrowser, identity: GoogleIdentity = {}): Promise<string> {
  const start = await browser.get(identity.start ?? "/auth/google");
  if (start.status !== 302 || !start.location?.startsWith(stack.OIDC_URL)) {
    throw new Error(`/auth/google did not redirect to the provider: ${start.status} ${start.location}`);
  }
  const provider = providerClient();
  let res = await provider(start.location);
  const interaction = res.headers.get("location") ?? "";
  if (!interaction.startsWith("/interaction/")) throw new Error(`provider answered ${res.status} ${await res.text()}`);
  await (await provider(`${stack.OIDC_URL}${interaction}`)).text();
  const form = new URLSearchParams({
    action: identity.cancel ? "cancel" : "login",
    email: identity.email ?? uniqueEmail("google"),
    name: identity.name ?? "Grace Hopper",
    sub: identity.sub ?? "",
    quirk: identity.quirk ?? "none",
    ...(identity.emailVerified === false ? {} : { emailVerified: "on" }),
  });
  res = await provider(`${stack.OIDC_URL}${interaction}`, {
    method: "POST",
    body: form.toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  // The provider resumes the authorization, then redirects to the app's callback.
  for (let hops = 0; hops < 5; hops++) {
    const location = new URL(res.headers.get("location") ?? "", stack.OIDC_URL).toString();
    if (location.startsWith(stack.APP_URL)) return location.slice(stack.APP_URL.length);
    if (!location.startsWith(stack.OIDC_URL)) throw new Error(`unexpected redirect to ${location}`);
    res = await provider(location);
  }
  throw new Error("the provider never redirected back to the app");
}

/** Hands the provider's answer to the app and follows it to the page where the sign-in ends. */
export async function returnToApp(browser: TestBrowser, callbackPath: string): Promise<Page> {
  const callback = await browser.get(callbackPath);
  if (callback.location !== "/auth/google/done") return callback;
  return browser.get("/auth/google/done");
}

/** The whole round trip: start, sign in at the provider, come back. */
export async function continueWithGoogle(browser: TestBrowser, identity: GoogleIdentity = {}): Promise<Page> {
  return returnToApp(browser, await signInAtProvider(browser, identity));
}
