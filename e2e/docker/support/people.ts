/**
 * People one Docker spec makes and a later one signs in as (the production spec uses the
 * installation the local specs filled), kept in DOCKER_STACK_DIR/people.json.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type Person = { email: string; room: string };

const file = join(process.env.DOCKER_STACK_DIR ?? ".", "people.json");

function everyone(): Record<string, Person> {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, Person>) : {};
}

export function remember(name: string, person: Person): void {
  writeFileSync(file, JSON.stringify({ ...everyone(), [name]: person }));
}

export function recall(name: string): Person {
  const person = everyone()[name];
  if (!person) throw new Error(`${name} was not made by an earlier Docker spec (${file})`);
  return person;
}
