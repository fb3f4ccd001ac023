/**
 * Before the first browser starts: `docker compose up --wait` (scripts/docker-test) may return
 * before the host has finished configuring the interfaces of the containers it started last.
 */
import { hostNetworkSettled } from "./network.js";

export default async function globalSetup(): Promise<void> {
  await hostNetworkSettled();
}
