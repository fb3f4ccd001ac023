#!/bin/sh
# Run by the nginx image's /docker-entrypoint.sh before nginx starts: render Duet's config.
set -eu
sh /etc/nginx/duet/render.sh
