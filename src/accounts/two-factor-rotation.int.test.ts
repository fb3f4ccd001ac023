import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { openBrowser } from "../test/browser.js";
import { signedUpUser } from "../test/factories.js";
import { buildApp, connectServices, stack, type Services } from "../test/support.js";
import { turnOnTwoFactor } from "../test/two-factor.js";
import { TwoFactorModel } from "./two-factor.js";
import { UserModel } from "./user.model.js";

// Keys of this test alone: rotating the stack's own key would strand every other test's data.
const keySpec = (id: string) => `${id}:${randomBytes(32).toString("base64")}`;
const oldKey = keySpec(`old${randomBytes(3).toString("hex")}`);
const newKey = keySpec(`new${randomBytes(3).toString("hex")}`);

describe("rotating the master key with two-factor accounts", () => {
  let services: Services;
  const servers: Server[] = [];
  /** An in-process app on the stack's services holding only `masterKeys`. */
  async function appWith(masterKeys: string): Promise<string> {
    const server = createServer(buildApp(services, { MASTER_KEYS: masterKeys }).callback());
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  before(async () => (services = await connectServices()));
  after(async () => {
    for (const server of servers) server.close();
    await services.close();
  });

  it("reseals two-factor secrets under the new key: the user still signs in once the old key is gone", async () => {
    const before = await appWith(oldKey);
    const { browser, email, password } = await signedUpUser("tf-rotate", before);
    const { app } = await turnOnTwoFactor(browser, password);
    const user = await UserModel.findOne({ email }, { _id: 1 }).lean();
    assert.ok(user);

    const cli = fileURLToPath(new URL("../cli/rotate-keys.ts", import.meta.url));
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      MONGODB_URI: stack.MONGODB_URI,
      MASTER_KEYS: `${newKey},${oldKey}`,
      LOG_LEVEL: "silent",
    };
    // Exits 1 here whatever happens: the shared test database holds other tests' rooms and
    // secrets under keys this run is not given; what matters is this user's secret.
    const run = await promisify(execFile)(process.execPath, ["--import", "tsx", cli], { env }).catch(
      (err: { stdout: string }) => err,
    );
    assert.match(run.stdout, /resealed [1-9]\d* two-factor secrets under "new/);
    const sealed = (await TwoFactorModel.findOne({ userId: user._id }).lean())?.secret ?? "";
    assert.equal(sealed.split(".")[1], newKey.split(":")[0], "sealed under the new key");

    // Only the new key from now on.
    const after = openBrowser(await appWith(newKey));
    await after.get("/signin");
    assert.equal((await after.post("/signin", { email, password })).location, "/signin/two-factor");
    await after.get("/signin/two-factor");
    const signedIn = await after.post("/signin/two-factor", { code: await app.code(1) });
    assert.equal(signedIn.location, "/profile", signedIn.text.slice(0, 400));
  });
});
