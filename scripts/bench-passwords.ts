/**
 * How long one password hash takes here, and how many sign-ins per second per core that
 * allows: the argon2id cost is a trade-off between an attacker's cracking cost and ours.
 * Run: node --import tsx scripts/bench-passwords.ts
 */
import { cpus } from "node:os";
import { hashPassword, verifyPassword } from "../src/accounts/passwords.js";

const runs = 20;
const hashes: number[] = [];
let stored = "";
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  stored = await hashPassword(`benchmark passphrase number ${i}`);
  hashes.push(performance.now() - started);
}
const verifies: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  await verifyPassword(`benchmark passphrase number ${runs - 1}`, stored);
  verifies.push(performance.now() - started);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const rss = process.memoryUsage().rss / 1024 / 1024;
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, node ${process.version}`);
console.log(
  `argon2id ${stored.split("$")[3]}: hash median ${median(hashes).toFixed(1)} ms, verify median ${median(verifies).toFixed(1)} ms over ${runs} runs`,
);
console.log(`≈ ${Math.floor(1000 / median(verifies))} sign-in checks per second per core; process RSS ${rss.toFixed(0)} MiB`);
