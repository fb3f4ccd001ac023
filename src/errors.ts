/**
 * Errors the app throws on purpose. Each carries an HTTP status, a stable machine-readable
 * code and whether its message is safe to show; `http/errors.ts` renders them.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Whether `message` may be shown to the client; otherwise a generic text is. */
    readonly expose: boolean = status < 500,
    /** Extra fields for the client, e.g. field-level validation messages. */
    readonly details?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, string>) =>
  new AppError(400, code, message, true, details);
export const unauthorized = (message = "Please sign in.") => new AppError(401, "unauthorized", message);
export const forbidden = (message = "You can't do that.") => new AppError(403, "forbidden", message);
export const notFound = (message = "We couldn't find that page.") => new AppError(404, "not_found", message);
export const payloadTooLarge = (message = "That request is too large.") => new AppError(413, "payload_too_large", message);
export const tooManyRequests = (message: string) => new AppError(429, "rate_limited", message);
export const serviceUnavailable = (message = "Duet is starting or briefly unavailable. Try again in a moment.") =>
  new AppError(503, "unavailable", message, true);

/** What clients see for any error whose message is not meant for them. */
export const GENERIC_MESSAGE = "Something went wrong on our side. Please try again.";
