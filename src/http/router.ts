import Router from "@koa/router";

/**
 * A router whose paths match only as written: case-sensitive, and `/signin/` is not `/signin`.
 * nginx rate-limits the account endpoints by path; a router that also answered `/SIGNIN` or
 * `/signin/` would let a client walk around that limit (and give one page many addresses).
 * Every router of the app is made here; lint forbids `new Router()` elsewhere.
 */
export function createRouter(): Router {
  return new Router({ sensitive: true, strict: true });
}
