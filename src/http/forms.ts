/**
 * Reading a submitted form, for every route: the body as a plain object, parsed with the form's
 * zod schema into typed values or one message per field, and what was typed, to show again.
 */
import type { Context } from "koa";
import type { z } from "zod";

/** The submitted form as a plain object (empty for a missing or non-form body). */
export function formBody(ctx: Context): Record<string, unknown> {
  const body = ctx.request.body;
  return body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

/** Field messages from a zod error, keyed by field name, first message wins. */
export function fieldErrors(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) {
    const key = String(issue.path[0] ?? "form");
    errors[key] ??= issue.message;
  }
  return errors;
}

/** A form parsed with its schema; `body` is what was submitted, for `keep` when it is shown again. */
export type ParsedForm<T> =
  | { ok: true; values: T; body: Record<string, unknown> }
  | { ok: false; errors: Record<string, string>; body: Record<string, unknown> };

/** Parses the submitted form with `schema`: its typed values, or the message for each field that failed. */
export function parseForm<S extends z.ZodType>(ctx: Context, schema: S): ParsedForm<z.output<S>> {
  const body = formBody(ctx);
  const parsed = schema.safeParse(body);
  return parsed.success ? { ok: true, values: parsed.data, body } : { ok: false, errors: fieldErrors(parsed.error.issues), body };
}

/** Echo back what the user typed (never passwords) when a form is shown again, at most 300 characters a field. */
export function keep(body: Record<string, unknown>, fields: string[], maxLength = 300): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [f, typeof body[f] === "string" ? body[f].slice(0, maxLength) : ""]));
}
