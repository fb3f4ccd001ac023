/**
 * The pages nginx serves by itself when the app cannot answer (413 for a body over its limit,
 * 429 from its own rate limit, 502/503/504 when the app is down or slow). They are rendered at build time from the app's own
 * layout and error view, so they look like every other page and link the fingerprinted assets;
 * nginx serves them as static files, since the app may be the thing that is down.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AVATAR_TOO_LARGE } from "../../src/accounts/avatars.js";
import { loadViews } from "../../src/views.js";

export const STATIC_ERROR_PAGES: Record<number, { title: string; message: string; back?: { href: string; label: string } }> = {
  // Over nginx's client_max_body_size. Pictures are the only uploads, and the app answers one
  // just over its own limit itself (on the profile form); this is for anything larger.
  413: {
    title: "That picture is too large",
    message: AVATAR_TOO_LARGE,
    back: { href: "/profile", label: "Back to your profile" },
  },
  429: {
    title: "Too many attempts",
    message: "Too many requests came from your address in a short time. Wait a minute, then try again.",
  },
  502: {
    title: "Duet is restarting",
    message: "The server did not answer just now, usually because it is restarting. Try again in a moment.",
  },
  503: { title: "Duet is busy", message: "The server cannot take your request right now. Try again in a moment." },
  504: {
    title: "Duet is taking too long",
    message: "The server did not answer in time. Your last action may not have gone through: check before you repeat it.",
  },
};

/** Writes `<outDir>/errors/<status>.html` for each page; call after the asset manifest exists. */
export function renderErrorPages(outDir: string): string[] {
  const views = loadViews();
  mkdirSync(join(outDir, "errors"), { recursive: true });
  return Object.entries(STATIC_ERROR_PAGES).map(([status, page]) => {
    const file = join(outDir, "errors", `${status}.html`);
    // staticPage: no scripts (served as plain files while the app may be down; the system theme still applies).
    writeFileSync(file, views.render("error", { ...page, status: Number(status), staticPage: true }));
    return file;
  });
}
