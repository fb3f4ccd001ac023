import type { Redis } from "ioredis";
import { createLimiter, type Limiter } from "../http/rate-limit.js";

/** Brute-force limits for account endpoints, shared by every app instance through Redis. */
export type AccountLimits = {
  signInPerIp: Limiter;
  signInPerAccount: Limiter;
  signUpPerIp: Limiter;
  codePerIp: Limiter;
  forgotPerIp: Limiter;
  forgotPerEmail: Limiter;
  passwordCheckPerUser: Limiter;
};

export function accountLimits(redis: Redis): AccountLimits {
  return {
    signInPerIp: createLimiter(redis, "signin-ip", 30, 15 * 60),
    signInPerAccount: createLimiter(redis, "signin-account", 10, 15 * 60),
    signUpPerIp: createLimiter(redis, "signup-ip", 10, 60 * 60),
    codePerIp: createLimiter(redis, "code-ip", 30, 15 * 60),
    forgotPerIp: createLimiter(redis, "forgot-ip", 10, 60 * 60),
    forgotPerEmail: createLimiter(redis, "forgot-email", 3, 60 * 60),
    passwordCheckPerUser: createLimiter(redis, "password-check", 10, 15 * 60),
  };
}
