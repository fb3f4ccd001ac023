import { pino, type Logger } from "pino";
import type { Config } from "./config.js";

export type { Logger };

/**
 * JSON logs on stdout, one object per line, for Docker and journald to collect.
 * Anything that could hold a secret or a message body is redacted by path, as a net under
 * the rule that such values are never logged in the first place.
 */
export function createLogger(config: Pick<Config, "logLevel" | "instanceName">): Logger {
  return pino({
    level: config.logLevel,
    base: { instance: config.instanceName },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["password", "*.password", "headers.cookie", "*.headers.cookie", "body", "*.body", "token", "*.token"],
      censor: "[redacted]",
    },
  });
}
