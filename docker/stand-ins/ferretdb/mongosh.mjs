#!/usr/bin/env node
// A stand-in for mongosh in the FerretDB image (mongo:7's stand-in; mongosh is not on the npm
// registry as one package that runs here). Enough of it for docker-compose.yml's health check,
// `mongosh --quiet --eval "db.adminCommand('ping').ok"`, and for mongodb/initdb/*.js:
//
//   mongosh [--quiet] [--username U --password P --authenticationDatabase DB] [--eval CODE] [DB] [FILE...]
//
// As in mongosh, a script's database calls are synchronous: each one waits for the driver,
// which runs in a worker thread. `db` has runCommand, adminCommand, getSiblingDB, getUser,
// createUser and updateUser. FerretDB has no roles: createUser and updateUser drop them, and
// say so. A failed call throws, so a failing script or health check exits with status 1.
import { Worker, MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { readFileSync } from "node:fs";
import vm from "node:vm";

const args = process.argv.slice(2);
const options = { eval: [], files: [], db: "test" };
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--quiet") continue;
  else if (arg === "--eval") options.eval.push(args[++i]);
  else if (arg === "--username" || arg === "-u") options.username = args[++i];
  else if (arg === "--password" || arg === "-p") options.password = args[++i];
  else if (arg === "--authenticationDatabase") options.authSource = args[++i];
  else if (arg.startsWith("-")) throw new Error(`mongosh (Duet stand-in): unsupported option ${arg}`);
  else if (arg.endsWith(".js")) options.files.push(arg);
  else options.db = arg;
}

const credentials = options.username
  ? `${encodeURIComponent(options.username)}:${encodeURIComponent(options.password ?? "")}@`
  : "";
const authSource = options.authSource ? `?authSource=${encodeURIComponent(options.authSource)}` : "";
const uri = `mongodb://${credentials}127.0.0.1:27017/${authSource}`;

const { port1, port2 } = new MessageChannel();
const flag = new Int32Array(new SharedArrayBuffer(4));
const driver = new URL("./node_modules/mongodb/lib/index.js", import.meta.url).pathname;
const runner = new Worker(
  `
  const { workerData } = require("node:worker_threads");
  const { MongoClient } = require(workerData.driver);
  const client = new MongoClient(workerData.uri, { serverSelectionTimeoutMS: 2000 });
  workerData.port.on("message", async ({ db, command }) => {
    let reply;
    try {
      reply = { result: await client.db(db).command(command) };
    } catch (err) {
      reply = { error: err instanceof Error ? err.message : String(err) };
    }
    workerData.port.postMessage(reply);
    Atomics.store(workerData.flag, 0, 1);
    Atomics.notify(workerData.flag, 0);
  });
  `,
  { eval: true, workerData: { uri, driver, port: port2, flag }, transferList: [port2] },
);

/** Runs one command and waits for its reply, as mongosh's synchronous calls do. */
function command(db, cmd) {
  Atomics.store(flag, 0, 0);
  port1.postMessage({ db, command: cmd });
  Atomics.wait(flag, 0, 0);
  const reply = receiveMessageOnPort(port1)?.message;
  if (!reply || reply.error) throw new Error(reply?.error ?? "no reply from the server");
  return reply.result;
}

function withoutRoles(what, roles) {
  if (roles?.length) print(`(FerretDB has no roles: ${what} gets none of ${JSON.stringify(roles)})`);
}

function database(name) {
  return {
    getName: () => name,
    runCommand: (cmd) => command(name, cmd),
    adminCommand: (cmd) => command("admin", typeof cmd === "string" ? { [cmd]: 1 } : cmd),
    getSiblingDB: (other) => database(other),
    getUser: (user) => command(name, { usersInfo: user }).users?.[0] ?? null,
    createUser: ({ user, pwd, roles }) => {
      withoutRoles(user, roles);
      return command(name, { createUser: user, pwd, roles: [] });
    },
    updateUser: (user, { pwd, roles }) => {
      withoutRoles(user, roles);
      return command(name, { updateUser: user, ...(pwd ? { pwd } : {}) });
    },
  };
}

function print(...values) {
  console.log(...values.map((v) => (typeof v === "string" ? v : JSON.stringify(v))));
}

let status = 0;
try {
  const context = vm.createContext({ db: database(options.db), print, printjson: print, process, console });
  for (const code of options.eval) {
    const result = vm.runInContext(code, context, { filename: "--eval" });
    if (result !== undefined) print(result);
  }
  for (const file of options.files) vm.runInContext(readFileSync(file, "utf8"), context, { filename: file });
} catch (err) {
  console.error(`mongosh (Duet stand-in): ${err instanceof Error ? err.message : err}`);
  status = 1;
}
await runner.terminate();
process.exit(status);
