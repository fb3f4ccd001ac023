#!/bin/sh
# The mongo image's entrypoint, on FerretDB. With MONGO_INITDB_ROOT_USERNAME/PASSWORD set, the
# server requires authentication (FerretDB's SCRAM users, `--test-enable-new-auth`) and that
# user is created in admin (FerretDB's setup user). On an empty data volume it first runs
# /docker-entrypoint-initdb.d/*.js (with the mongosh stand-in, as that user) and *.sh, on a
# server listening on 127.0.0.1 only, then starts the real one, as the mongo image does.
# FerretDB has users but no roles: every authenticated user may do anything (README).
set -eu
data=/data/db
if [ "${1:-}" = ferretdb ] && [ "$(id -u)" = 0 ]; then
  chown -R mongodb:mongodb "$data"
  exec setpriv --reuid=mongodb --regid=mongodb --init-groups "$0" "$@"
fi
[ "${1:-}" = ferretdb ] || exec "$@"
shift

export FERRETDB_HANDLER=sqlite FERRETDB_SQLITE_URL="file:$data/" FERRETDB_STATE_DIR="$data" \
  FERRETDB_TELEMETRY=disable FERRETDB_LOG_LEVEL=error FERRETDB_DEBUG_ADDR=-
if [ -n "${MONGO_INITDB_ROOT_USERNAME:-}" ]; then
  : "${MONGO_INITDB_ROOT_PASSWORD:?MONGO_INITDB_ROOT_PASSWORD must be set with MONGO_INITDB_ROOT_USERNAME}"
  export FERRETDB_TEST_ENABLE_NEW_AUTH=true FERRETDB_SETUP_DATABASE=admin \
    FERRETDB_SETUP_USERNAME="$MONGO_INITDB_ROOT_USERNAME" FERRETDB_SETUP_PASSWORD="$MONGO_INITDB_ROOT_PASSWORD"
fi

# Unlike the mongo image, which initialises only an empty directory, a volume is initialised
# until that has once finished (the marker below): a first start cut off half-way (a slow
# machine, a restart) is retried instead of leaving a database without the app's user. The
# init scripts must therefore be idempotent, as mongodb/initdb/*.js is.
marker="$data/.docker-entrypoint-initialised"
if [ ! -e "$marker" ]; then
  echo "docker-entrypoint: initialising $data"
  FERRETDB_LISTEN_ADDR=127.0.0.1:27017 ferretdb &
  pid=$!
  tries=0
  until mongosh --quiet --eval "db.adminCommand({ ping: 1 })" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ $tries -lt 100 ] || { echo "docker-entrypoint: FerretDB did not start" >&2; exit 1; }
    sleep 0.1
  done
  auth=""
  [ -z "${MONGO_INITDB_ROOT_USERNAME:-}" ] || auth="--username $MONGO_INITDB_ROOT_USERNAME --password $MONGO_INITDB_ROOT_PASSWORD --authenticationDatabase admin"
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "docker-entrypoint: running $f"; . "$f" ;;
      # shellcheck disable=SC2086
      *.js) echo "docker-entrypoint: running $f"; mongosh --quiet $auth "${MONGO_INITDB_DATABASE:-test}" "$f" ;;
      *) [ -e "$f" ] && echo "docker-entrypoint: ignoring $f" ;;
    esac
  done
  kill "$pid" && wait "$pid" || true
  : > "$marker"
  echo "docker-entrypoint: initialised; starting FerretDB"
fi
FERRETDB_LISTEN_ADDR=0.0.0.0:27017 exec ferretdb "$@"
