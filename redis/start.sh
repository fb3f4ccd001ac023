#!/bin/sh
# Starts Redis with Duet's two users (docker-compose.yml runs it in the redis container):
#   duet      the app (REDIS_URL), password REDIS_PASSWORD, limited by redis/app-user.acl to
#             the commands Duet sends on its own keys and channels;
#   default   administration and the health check, password REDIS_ADMIN_PASSWORD.
# The passwords go into a config file only Redis can read, not onto the command line, where
# `ps` would show them. Extra arguments are passed to redis-server; outside the image (the
# tests) it runs redis-server directly, writing the config to $REDIS_CONF.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
for name in REDIS_PASSWORD REDIS_ADMIN_PASSWORD; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || { echo "redis/start.sh: $name is not set (run scripts/gen-env, or add it to .env)" >&2; exit 64; }
  case "$value" in
    *[!A-Za-z0-9_.~+/=-]*) echo "redis/start.sh: $name may hold only letters, digits and _.~+/=- (openssl rand -hex 24)" >&2; exit 64 ;;
  esac
done
[ "$REDIS_PASSWORD" != "$REDIS_ADMIN_PASSWORD" ] || { echo "redis/start.sh: REDIS_PASSWORD and REDIS_ADMIN_PASSWORD must differ" >&2; exit 64; }

rules=$(sed -e 's/#.*//' "$here/app-user.acl" | tr -s ' \n' '  ')
conf=${REDIS_CONF:-/tmp/duet-redis.conf}
umask 077
cat > "$conf" <<CONF
user default on >$REDIS_ADMIN_PASSWORD ~* &* +@all
user duet on >$REDIS_PASSWORD $rules
appendonly yes
appendfsync everysec
CONF

if command -v docker-entrypoint.sh >/dev/null 2>&1; then
  # The image's entrypoint drops root for the redis user, who must be able to read the config.
  [ "$(id -u)" != 0 ] || chown redis "$conf"
  exec docker-entrypoint.sh redis-server "$conf" "$@"
fi
exec redis-server "$conf" "$@"
