#!/bin/sh
# As the upstream redis image's entrypoint: redis-server started as root drops to the redis
# user (owning /data first); anything else runs as it is.
set -e
umask 0077
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
