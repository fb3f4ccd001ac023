import type Router from "@koa/router";
import { createRouter } from "../../http/router.js";
import type { Context } from "koa";
import { AppError, notFound } from "../../errors.js";
import { requireUser, signedInUser, signedInUserId } from "../current-user.js";
import { readUpload } from "../../http/multipart.js";
import { retryIn } from "../../http/rate-limit.js";
import { renderPage } from "../../http/render.js";
import { formBody, keep, parseForm } from "../../http/forms.js";
import {
  AVATAR_TOO_LARGE,
  initialsAvatar,
  MAX_AVATAR_BYTES,
  processAvatar,
  removeAvatar,
  saveAvatar,
  storedAvatar,
} from "../avatars.js";
import { codeForm, emailChangeForm, passwordChangeForm, profileForm } from "../forms.js";
import { withinCodeCap } from "../limits.js";
import { passwordProblem } from "../passwords.js";
import {
  changePassword,
  confirmEmailChange,
  deleteAccount,
  setNotificationText,
  startEmailChange,
  updateProfile,
} from "../profile.js";
import { visiblePerson } from "../people.js";
import { twoFactorStatus } from "../two-factor.js";
import { listPasskeys } from "../passkeys.js";
import { firstSeen } from "../devices.js";
import { subscribedDevices } from "../push-subscriptions.js";
import { listUserSessions, revokeUserSessions, sessionHandle } from "../../http/session-store.js";
import { publicProfile } from "../user.model.js";
import { reauthProblem, sessionOf, wrongCodeMessage, type AccountRoutesDeps } from "./context.js";
import { recentlyConfirmed } from "../reauth.js";

const NOTICES: Record<string, string> = {
  welcome: "Welcome to Duet! Your email is confirmed and you're signed in.",
  reset: "Your password was changed and every other device was signed out.",
  saved: "Your profile was saved.",
  avatar: "Your picture was updated.",
  password: "Your password was changed and every other device was signed out.",
  email: "Your email address was changed and every other device was signed out.",
  revoked: "Those sessions were signed out.",
  googleWelcome: "Welcome to Duet! You're signed in with Google.",
  googleLinked: "Your Google account is linked: you can sign in with it from now on.",
  googleUnlinked: "Your Google account was unlinked. Sign in with your email and password from now on.",
  notificationsOff: "Notifications were turned off for that browser.",
  textShown: "Notifications will show the message's text.",
  textHidden: "Notifications will show only who wrote.",
};

export function profileRoutes(deps: AccountRoutesDeps): Router {
  const { views, limits, redis } = deps;
  const router = createRouter();
  const currentHandle = (ctx: Context) => {
    const key = sessionOf(ctx).externalKey;
    return key ? sessionHandle(key) : undefined;
  };

  /** Shows the profile page, with `extra` (errors and typed values of one form) merged in. */
  async function showProfile(ctx: Context, extra: Record<string, unknown> = {}) {
    const user = signedInUser(ctx);
    const here = currentHandle(ctx);
    const listed = await listUserSessions(redis, String(user._id));
    const seen = await firstSeen(
      String(user._id),
      listed.flatMap((s) => (s.device ? [s.device] : [])),
    );
    const notifying = deps.config.push ? await subscribedDevices(String(user._id)) : new Set<string>();
    const sessions = listed.map((s) => ({
      ...s,
      current: s.handle === here,
      notifications: Boolean(s.device && notifying.has(s.device)),
      // Sessions from before device cookies have no device: their own start is the best known.
      firstSeenAt: (s.device && seen.get(s.device)) || s.createdAt,
    }));
    const notice = Object.keys(NOTICES).find((k) => ctx.query[k] === "1");
    const passkeys = await listPasskeys(String(user._id));
    renderPage(ctx, views, "accounts/profile", {
      title: "Your profile",
      profile: {
        ...publicProfile(user),
        email: user.email,
        hasPassword: Boolean(user.passwordHash),
        googleLinked: Boolean(user.googleSub),
      },
      twoFactor: await twoFactorStatus(String(user._id)),
      passkeyCount: passkeys.length,
      hasPasskey: passkeys.length > 0,
      scripts: ["js/passkeys.js"],
      // For the re-authentication field of the sensitive forms (partials/reauth-field.hbs).
      hasPassword: Boolean(user.passwordHash),
      googleLinked: Boolean(user.googleSub),
      confirmed: recentlyConfirmed(sessionOf(ctx).reauthAt),
      reauthNext: "/profile",
      sessions,
      otherSessions: sessions.length > 1,
      pushAvailable: Boolean(deps.config.push),
      notificationText: Boolean(user.notificationText),
      notice: notice ? NOTICES[notice] : undefined,
      pendingEmail: typeof ctx.query.verifyEmail === "string" ? ctx.query.verifyEmail.slice(0, 254) : undefined,
      ...extra,
    });
  }

  router.get("/profile", requireUser, (ctx) => showProfile(ctx));

  router.post("/profile", requireUser, async (ctx) => {
    const form = parseForm(ctx, profileForm);
    if (!form.ok) {
      ctx.status = 422;
      return showProfile(ctx, { profileValues: keep(form.body, ["displayName", "status"]), profileErrors: form.errors });
    }
    await updateProfile(signedInUserId(ctx), form.values);
    ctx.redirect("/profile?saved=1");
  });

  // A checkbox: checked sends showText=on, unchecked sends nothing (off).
  router.post("/profile/notification-text", requireUser, async (ctx) => {
    const value = formBody(ctx).showText;
    if (value !== undefined && value !== "on")
      throw new AppError(400, "bad_form", "showText: must be 'on' (show the text) or absent (don't).");
    await setNotificationText(signedInUserId(ctx), value === "on");
    ctx.redirect(`/profile?${value === "on" ? "textShown" : "textHidden"}=1#notifications`);
  });

  router.post("/profile/avatar", requireUser, async (ctx) => {
    // An upload refused while it is read (too large, not a form) is answered on the form too.
    const upload = await readUpload(ctx, MAX_AVATAR_BYTES).catch((err: unknown) => {
      if (err instanceof AppError && err.expose && err.status < 500) return err;
      throw err;
    });
    if (upload instanceof AppError) {
      ctx.status = upload.status;
      return showProfile(ctx, { avatarError: upload.code === "file_too_large" ? AVATAR_TOO_LARGE : upload.message });
    }
    if (!upload.file) {
      ctx.status = 422;
      return showProfile(ctx, { avatarError: "Choose an image file first." });
    }
    let image: Buffer;
    try {
      image = await processAvatar(upload.file.data);
    } catch (err) {
      ctx.status = 422;
      return showProfile(ctx, { avatarError: err instanceof Error ? err.message : "That image could not be used." });
    }
    await saveAvatar(signedInUserId(ctx), image);
    ctx.redirect("/profile?avatar=1");
  });

  router.post("/profile/avatar/remove", requireUser, async (ctx) => {
    await removeAvatar(signedInUserId(ctx));
    ctx.redirect("/profile?avatar=1");
  });

  router.post("/profile/password", requireUser, async (ctx) => {
    const form = parseForm(ctx, passwordChangeForm);
    const weak = form.ok ? passwordProblem(form.values.newPassword, signedInUser(ctx).email) : undefined;
    if (!form.ok || weak) {
      ctx.status = 422;
      return showProfile(ctx, { passwordErrors: form.ok ? { newPassword: weak } : form.errors });
    }
    const problem = await reauthProblem(ctx, limits, signedInUser(ctx), form.body);
    if (problem) {
      ctx.status = 422;
      return showProfile(ctx, { passwordErrors: { currentPassword: problem } });
    }
    await changePassword(deps, signedInUserId(ctx), { newPassword: form.values.newPassword, keepSession: currentHandle(ctx) });
    ctx.redirect("/profile?password=1");
  });

  router.post("/profile/email", requireUser, async (ctx) => {
    const form = parseForm(ctx, emailChangeForm);
    const emailValues = keep(form.body, ["email"]);
    if (!form.ok) {
      ctx.status = 422;
      return showProfile(ctx, { emailValues, emailErrors: form.errors });
    }
    const problem = await reauthProblem(ctx, limits, signedInUser(ctx), form.body);
    if (problem) {
      ctx.status = 422;
      return showProfile(ctx, { emailValues, emailErrors: { currentPassword: problem } });
    }
    const started = await startEmailChange(deps, signedInUserId(ctx), form.values);
    if (!started.ok) {
      ctx.status = 422;
      const message = { email: `Wait ${started.retryInSeconds} seconds before asking for another code.` };
      return showProfile(ctx, { emailValues, emailErrors: message });
    }
    ctx.redirect(`/profile?verifyEmail=${encodeURIComponent(started.email)}#email`);
  });

  router.post("/profile/email/verify", requireUser, async (ctx) => {
    const form = parseForm(ctx, codeForm);
    const { pendingEmail = "" } = keep(form.body, ["pendingEmail"], 254);
    const fail = (message: string, status = 422) => {
      ctx.status = status;
      return showProfile(ctx, { pendingEmail, emailCodeError: message });
    };
    if (!form.ok) return fail(form.errors.code ?? "Enter the 6-digit code.");
    // Counted per account, not per code: asking for new codes does not buy more guesses.
    const result = await withinCodeCap(limits.emailCodesPerAccount, signedInUserId(ctx), () =>
      confirmEmailChange(deps, signedInUserId(ctx), { code: form.values.code, keepSession: currentHandle(ctx) }),
    );
    if (result.ok) return ctx.redirect("/profile?email=1");
    if (result.reason === "capped") return fail(`Too many wrong codes. ${retryIn(result.retryInMs)}`, 429);
    if (result.reason === "wrong" && result.attemptsLeft > 0) return fail(wrongCodeMessage(result.attemptsLeft));
    if (result.reason === "taken") return fail("That address now belongs to another account.");
    return fail("That code has expired or was tried too often. Ask for a new one.");
  });

  router.post("/profile/sessions/revoke-others", requireUser, async (ctx) => {
    await revokeUserSessions(redis, signedInUserId(ctx), { except: currentHandle(ctx) });
    ctx.redirect("/profile?revoked=1#sessions");
  });

  router.post("/profile/sessions/:handle/revoke", requireUser, async (ctx) => {
    const handle = ctx.params.handle ?? "";
    if (handle === currentHandle(ctx)) return ctx.redirect("/profile#sessions");
    await revokeUserSessions(redis, signedInUserId(ctx), { only: handle });
    ctx.redirect("/profile?revoked=1#sessions");
  });

  router.post("/profile/delete", requireUser, async (ctx) => {
    const problem = await reauthProblem(ctx, limits, signedInUser(ctx), formBody(ctx));
    if (problem) {
      ctx.status = 422;
      return showProfile(ctx, { deleteErrors: { currentPassword: problem } });
    }
    await deleteAccount(deps, signedInUserId(ctx));
    ctx.session = null;
    ctx.set("Clear-Site-Data", '"cache", "storage"');
    ctx.redirect("/signin?deleted=1");
  });

  // Other people: only what publicProfile allows, and only to those they share a conversation with.
  router.get("/avatars/:id", requireUser, async (ctx) => {
    const person = await visiblePerson(signedInUserId(ctx), ctx.params.id ?? "", deps.conversations.sharesRoom);
    if (!person) throw notFound();
    const id = String(person._id);
    const avatar = await storedAvatar(id);
    // The URL carries the avatar version, so browsers may keep it; private: it is not public data.
    ctx.set("Cache-Control", "private, max-age=86400");
    ctx.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    if (avatar) {
      ctx.type = "image/webp";
      ctx.body = avatar;
    } else {
      ctx.type = "image/svg+xml";
      ctx.body = initialsAvatar(id, person.displayName);
    }
  });

  router.get("/people/:id", requireUser, async (ctx) => {
    const person = await visiblePerson(signedInUserId(ctx), ctx.params.id ?? "", deps.conversations.sharesRoom);
    if (!person) throw notFound();
    renderPage(ctx, views, "accounts/person", { title: person.displayName, person: publicProfile(person) });
  });

  return router;
}
