#!/bin/sh
# Re-renders the config (picking up a certificate that appeared since the last render) and
# reloads nginx gracefully: new workers take new connections, old ones finish theirs, so
# nothing is dropped. Used after certificate renewal, in Docker and natively.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/render.sh"
nginx -s reload -c "$NGINX_CONF_DIR/nginx.conf"
