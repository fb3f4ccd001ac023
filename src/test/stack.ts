/**
 * The running native stack's addresses (its env file), and nothing else: a test that only talks
 * to the stack over the network imports this, not support.ts, which loads the whole app.
 */
import { readStackEnv } from "../../scripts/lib/stack-env.js";

export const stack = readStackEnv();
