import type { Context, Middleware } from "koa";
import { AppError, GENERIC_MESSAGE, notFound, serviceUnavailable } from "../errors.js";
import type { Views } from "../views.js";

const TITLES: Record<number, string> = {
  400: "That didn't look right",
  401: "Please sign in",
  403: "Not allowed",
  404: "Page not found",
  405: "Not allowed",
  413: "Too large",
  415: "Unsupported",
  429: "Slow down",
  503: "Back in a moment",
};

const UNREADABLE_REQUEST = "That request could not be read. Reload the page and try again.";

/** Turns anything thrown into an AppError; unknown errors become a 500 that reveals nothing. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isOutage(err)) return serviceUnavailable();
  // Errors from Koa and its body parsers (http-errors) carry status and expose.
  if (err instanceof Error && "status" in err && typeof err.status === "number" && err.status >= 400 && err.status < 600) {
    const status = err.status;
    if (status >= 500) return new AppError(status, codeFor(status), GENERIC_MESSAGE, false);
    // The request was at fault (malformed JSON, say): say so, without the parser's own words.
    const expose = "expose" in err && err.expose === true;
    return new AppError(status, codeFor(status), expose ? err.message : UNREADABLE_REQUEST, true);
  }
  return new AppError(500, "internal", GENERIC_MESSAGE, false);
}

// A database that is down or unreachable is an outage, not a bug: the user gets "try again in a
// moment" (503 with Retry-After), and nothing they did is at fault.
const OUTAGE_ERRORS = new Set([
  "MaxRetriesPerRequestError",
  "MongoServerSelectionError",
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoNotConnectedError",
]);

function isOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return OUTAGE_ERRORS.has(err.name) || /^(Connection is closed|Stream isn't writeable)/.test(err.message);
}

function codeFor(status: number): string {
  const codes: Record<number, string> = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
  };
  return codes[status] ?? (status >= 500 ? "internal" : "error");
}

function wantsJson(ctx: Context): boolean {
  return ctx.accepts("html", "json") === "json" || ctx.path.startsWith("/api/");
}

/**
 * The one error handler: everything below it may throw. HTML clients get the site's error
 * page, JSON clients `{error:{code,message}}`; 5xx are logged with the request id, and no
 * stack or internal message reaches the client.
 */
export function handleErrors(views: Views): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw notFound();
    } catch (thrown) {
      const err = toAppError(thrown);
      const message = err.expose ? err.message : GENERIC_MESSAGE;
      if (err.status === 503)
        ctx.state.log.warn({ err: thrown instanceof Error ? thrown.message : thrown }, "dependency unavailable");
      else if (err.status >= 500) ctx.state.log.error({ err: thrown }, "request failed");
      else ctx.state.log.debug({ code: err.code }, "request refused");

      ctx.status = err.status;
      ctx.remove("Content-Disposition");
      if (err.status === 503) ctx.set("Retry-After", "5");
      if (wantsJson(ctx)) {
        ctx.body = { error: { code: err.code, message, ...(err.details ? { fields: err.details } : {}) } };
      } else {
        ctx.type = "html";
        ctx.body = views.render("error", {
          title: TITLES[err.status] ?? "Something went wrong",
          status: err.status,
          message,
          requestId: ctx.state.requestId,
        });
      }
    }
  };
}
