// The app's own MongoDB user: readWrite on the `duet` database and nothing else, so the app
// (and a backup or restore run in its container) cannot create users, read other databases or
// shut the server down. The mongo image runs this once, as root, when it initialises an empty
// data volume (docker-entrypoint-initdb.d); root is used for nothing else.
//
// An installation made before this file existed has no such user: run it by hand once, as
// root (the README's Security section has the command). Running it again updates the
// password and roles, so it also rotates MONGO_PASSWORD.
const name = process.env.DUET_MONGO_USER || "duet";
const password = process.env.DUET_MONGO_PASSWORD;
if (!password) throw new Error("DUET_MONGO_PASSWORD is not set (MONGO_PASSWORD in .env)");

const duet = db.getSiblingDB("duet");
const roles = [{ role: "readWrite", db: "duet" }];
if (duet.getUser(name)) {
  duet.updateUser(name, { pwd: password, roles });
  print(`updated MongoDB user ${name}: readWrite on duet`);
} else {
  duet.createUser({ user: name, pwd: password, roles });
  print(`created MongoDB user ${name}: readWrite on duet`);
}
