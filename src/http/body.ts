import { bodyParser } from "@koa/bodyparser";
import type { Middleware } from "koa";

/**
 * Form and JSON bodies, small: nothing Duet accepts this way is larger than a few KB. Larger
 * bodies are refused with 413 before they are read into memory. Uploads (multipart) are
 * parsed by the route that takes them, with its own limits.
 */
export function parseBody(): Middleware {
  return bodyParser({
    enableTypes: ["form", "json"],
    formLimit: "32kb",
    jsonLimit: "32kb",
    encoding: "utf-8",
  }) as Middleware;
}
