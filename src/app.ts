/**
 * createApp(): the Koa application with its middleware in order. It never listens, so
 * tests drive `app.callback()` directly and the server decides ports and lifecycles.
 */
import Koa from "koa";
import type { Redis } from "ioredis";
import { accountLimits } from "./accounts/limits.js";
import type { AccountRoutesDeps } from "./accounts/routes/context.js";
import { profileRoutes } from "./accounts/routes/profile.js";
import { resetRoutes } from "./accounts/routes/reset.js";
import { signInRoutes } from "./accounts/routes/signin.js";
import { signUpRoutes } from "./accounts/routes/signup.js";
import { twoFactorRoutes } from "./accounts/routes/two-factor.js";
import { passkeyRoutes } from "./accounts/routes/passkeys.js";
import { pushRoutes } from "./accounts/routes/push.js";
import type { Chat } from "./chat/wiring.js";
import { announceAccountDeleted } from "./chat/deleted-peers.js";
import { attachmentRoutes } from "./chat/attachments/routes.js";
import { uploadLimits } from "./chat/attachments/limits.js";
import { removeAttachmentsOf } from "./chat/attachments/removal.js";
import { eraseMessagesOf } from "./chat/messages.js";
import { roomIdsOf } from "./chat/summaries.js";
import { eraseReactionsOf } from "./chat/reactions.js";
import { shareRoom } from "./chat/rooms.js";
import { chatRoutes } from "./chat/routes.js";
import { muteRoutes } from "./chat/routes/mute.js";
import { searchRoutes } from "./chat/routes/search.js";
import { archiveRoutes } from "./chat/routes/archive.js";
import { exportRoutes } from "./export/routes.js";
import type { Config } from "./config.js";
import { createLimiter } from "./http/rate-limit.js";
import { healthRoutes } from "./health/routes.js";
import type { Readiness } from "./health/readiness.js";
import { parseBody } from "./http/body.js";
import { csrfProtection } from "./http/csrf.js";
import { loadCurrentUser } from "./accounts/current-user.js";
import { handleErrors } from "./http/errors.js";
import { directCaller, trustProxy } from "./http/proxy.js";
import { requestLog } from "./http/request-log.js";
import { sessions, signingKeys } from "./http/session.js";
import { staticFiles } from "./http/static-files.js";
import { deriveKey } from "./keys.js";
import type { Logger } from "./logger.js";
import type { Mailer } from "./mail/mailer.js";
import { googleRoutes, withGoogleFlag } from "./oauth/routes.js";
import { pageRoutes } from "./pages/routes.js";
import { appShellRoutes } from "./pages/app-shell.js";
import { loadViews, type Views } from "./views.js";

export type AppDeps = {
  config: Config;
  log: Logger;
  redis: Redis;
  mailer: Mailer;
  chat: Pick<Chat, "hub" | "keyFor" | "sequencer" | "unreadable" | "presence" | "summaries">;
  readiness: () => Promise<Readiness>;
  views?: Views;
};

export function createApp({ config, log, redis, mailer, chat, readiness, views: baseViews = loadViews() }: AppDeps): Koa {
  const views = withGoogleFlag(baseViews, config);
  const app = new Koa({ proxy: true });
  app.keys = signingKeys(config);
  // Koa logs every error itself unless told not to; ours are logged once, with the request id.
  app.silent = true;

  app.use(trustProxy(config.trustedProxies));
  app.use(requestLog(log));
  app.use(handleErrors(views));
  app.use(staticFiles());
  // The manifest, the service worker and the offline page: the same for everyone, no session.
  app.use(appShellRoutes(baseViews).routes());
  // Probes come before sessions and CSRF: they must answer even when Redis does not.
  app.use(healthRoutes(config.instanceName, readiness, directCaller(config.trustedProxies)));

  app.use(parseBody());
  app.use(sessions(app, config, redis));
  app.use(csrfProtection(config));
  app.use(loadCurrentUser());

  const accounts: AccountRoutesDeps = {
    config,
    views,
    log,
    redis,
    mailer,
    limits: accountLimits(redis),
    codeKey: deriveKey(config.sessionSecrets[0] ?? "", "email-codes"),
    masterKeys: config.masterKeys,
    publicUrl: config.publicUrl,
    conversations: {
      sharesRoom: shareRoom,
      async eraseMessagesOf(userId) {
        await eraseMessagesOf(userId);
        // Their messages changed without events: the list reads those rooms from MongoDB again.
        await chat.summaries.drop(await roomIdsOf(userId));
        await eraseReactionsOf(userId);
        await removeAttachmentsOf(userId);
      },
      accountDeleted: (userId) => announceAccountDeleted(chat.hub, redis, userId),
    },
  };
  const conversations = chatRoutes({
    config,
    views,
    log,
    redis,
    mailer,
    hub: chat.hub,
    sequencer: chat.sequencer,
    keyFor: chat.keyFor,
    unreadable: chat.unreadable,
    socketCounts: chat.presence.socketCounts,
    summaries: chat.summaries,
    inviteLimiter: createLimiter(redis, "invite", 20, 24 * 3600),
    lookupLimiter: createLimiter(redis, "chat-start", 20, 3600),
  });
  for (const router of [
    pageRoutes(views),
    signUpRoutes(accounts),
    signInRoutes(accounts),
    twoFactorRoutes(accounts),
    passkeyRoutes(accounts),
    resetRoutes(accounts),
    profileRoutes(accounts),
    pushRoutes(accounts),
    // Only when Google is configured: otherwise /auth/google answers 404.
    ...(config.google ? [googleRoutes(accounts, config.google)] : []),
    conversations,
    muteRoutes(),
    archiveRoutes({ hub: chat.hub }),
    searchRoutes({
      keyFor: chat.keyFor,
      unreadable: chat.unreadable,
      // A search page opens up to 500 messages: 30 a minute pages through 15,000 of them.
      limiter: createLimiter(redis, "search", 30, 60),
    }),
    attachmentRoutes({
      log,
      keyFor: chat.keyFor,
      limits: uploadLimits(redis, config.attachments),
      maxBytes: config.attachments.maxBytes,
    }),
    exportRoutes({
      views,
      log,
      redis,
      keyFor: chat.keyFor,
      unreadable: chat.unreadable,
      limiter: createLimiter(redis, "export", 5, 3600),
      limits: accounts.limits,
    }),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}
