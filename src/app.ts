/**
 * createApp(): the Koa application with its middleware in order. It never listens, so
 * tests drive `app.callback()` directly and the server decides ports and lifecycles.
 */
import Koa from "koa";
import type { Config } from "./config.js";
import { healthRoutes } from "./health/routes.js";
import type { Readiness } from "./health/readiness.js";
import { handleErrors } from "./http/errors.js";
import { trustProxy } from "./http/proxy.js";
import { requestLog } from "./http/request-log.js";
import { staticFiles } from "./http/static-files.js";
import type { Logger } from "./logger.js";
import { pageRoutes } from "./pages/routes.js";
import { loadViews, type Views } from "./views.js";

export type AppDeps = {
  config: Config;
  log: Logger;
  readiness: () => Promise<Readiness>;
  views?: Views;
};

export function createApp({ config, log, readiness, views = loadViews() }: AppDeps): Koa {
  const app = new Koa({ proxy: true, keys: [...config.sessionSecrets] });
  // Koa logs every error itself unless told not to; ours are logged once, with the request id.
  app.silent = true;

  app.use(trustProxy(config.trustedProxies));
  app.use(requestLog(log));
  app.use(handleErrors(views));
  app.use(staticFiles());

  for (const router of [healthRoutes(config.instanceName, readiness), pageRoutes(views)]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}
