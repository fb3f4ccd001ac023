/** Every attack, in the order of issue #12's list. */
import type { Attack } from "../types.js";
import { damagedMessage } from "./damaged-message.js";
import { revokedSocket } from "./revoked-socket.js";
import { sessionResurrection } from "./session-resurrection.js";
import { signUpTakeover } from "./signup-takeover.js";

export const ATTACKS: readonly Attack[] = [signUpTakeover, revokedSocket, sessionResurrection, damagedMessage];
