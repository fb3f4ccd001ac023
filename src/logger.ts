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

/** The logging one socket does: warnings and errors about its own room and user. */
export type SocketLog = {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
};

/**
 * A child logger made on first use: most sockets never log, and a pino child per socket was
 * a few hundred bytes of every idle socket's heap (decision 023).
 */
export function lazyChild(parent: Logger, bindings: Record<string, string>): SocketLog {
  return new LazyChild(parent, bindings);
}

class LazyChild implements SocketLog {
  private child: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, string>,
  ) {}

  warn(details: object, message: string): void {
    this.logger().warn(details, message);
  }

  error(details: object, message: string): void {
    this.logger().error(details, message);
  }

  private logger(): Logger {
    return (this.child ??= this.parent.child(this.bindings));
  }
}
