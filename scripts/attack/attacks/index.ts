/** Every attack, in the order of issue #12's list. */
import type { Attack } from "../types.js";
import { blockedWrites } from "./blocked-writes.js";
import { caseLimits } from "./case-limits.js";
import { codeGuessing } from "./code-guessing.js";
import { damagedMessage } from "./damaged-message.js";
import { enumeration } from "./enumeration.js";
import { formFuzz } from "./form-fuzz.js";
import { frameFuzz } from "./frame-fuzz.js";
import { readyzDetails } from "./readyz.js";
import { revokedSocket } from "./revoked-socket.js";
import { sessionResurrection } from "./session-resurrection.js";
import { signUpTakeover } from "./signup-takeover.js";
import { socketUpgrade } from "./socket-upgrade.js";
import { strangerProfiles } from "./stranger-profiles.js";

export const ATTACKS: readonly Attack[] = [
  signUpTakeover,
  revokedSocket,
  sessionResurrection,
  damagedMessage,
  enumeration,
  strangerProfiles,
  blockedWrites,
  caseLimits,
  codeGuessing,
  readyzDetails,
  socketUpgrade,
  frameFuzz,
  formFuzz,
];
