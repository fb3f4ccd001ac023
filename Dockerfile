# Two images from one file: `app` (the Koa server) and `nginx` (TLS, static files, proxy).
# docker-compose.yml builds both; the native stack runs the same start command and config.
# No `# syntax=` line: BuildKit's built-in frontend builds this file, and fetching another one
# needs Docker Hub, which offline and mirrored hosts (and the Docker test) cannot reach.

ARG NODE_IMAGE=node:24-alpine
ARG NGINX_IMAGE=nginx:1.28-alpine

# --- build: compile TypeScript, fingerprint static assets, keep only production dependencies -
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY views ./views
COPY scripts/lib/static-assets.ts scripts/lib/build-static-cli.ts scripts/lib/error-pages.ts ./scripts/lib/
# dist/static: views/static plus fingerprinted copies and manifest.json (scripts/build-static).
RUN npm run build \
  && node --import tsx scripts/lib/build-static-cli.ts \
  && npm prune --omit=dev --no-audit --no-fund

# --- app: small runtime, non-root, tini as PID 1 so SIGTERM reaches node ----------------------
FROM ${NODE_IMAGE} AS app
RUN apk add --no-cache tini
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY views ./views
# uid 1000 is the image's `node` user; numeric, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/sbin/tini", "--"]
CMD ["node", "dist/server.js"]

# --- nginx: the project's templates, rendered at start by the image's entrypoint hooks -------
FROM ${NGINX_IMAGE} AS nginx
# openssl: render.sh makes a placeholder certificate before certbot's first one exists.
RUN apk add --no-cache openssl
COPY nginx/render.sh nginx/reload.sh nginx/cert-watch.sh /etc/nginx/duet/
COPY nginx/templates /etc/nginx/duet/templates
COPY nginx/optional /etc/nginx/duet/optional
COPY nginx/docker-entrypoint.sh /docker-entrypoint.d/40-duet-render.sh
COPY nginx/docker-cert-watch.sh /docker-entrypoint.d/50-duet-cert-watch.sh
COPY --from=build /app/dist/static /usr/share/duet/static
RUN chmod 0755 /docker-entrypoint.d/40-duet-render.sh /docker-entrypoint.d/50-duet-cert-watch.sh /etc/nginx/duet/*.sh \
  && mkdir -p /var/www/acme
ENV NGINX_CONF_DIR=/etc/nginx NGINX_RUN_DIR=/var/run/nginx STATIC_ROOT=/usr/share/duet/static ACME_ROOT=/var/www/acme \
  HTTP_PORT=80 HTTPS_PORT=443
EXPOSE 80 443
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["wget", "-q", "-O", "/dev/null", "--no-check-certificate", "https://127.0.0.1/healthz"]
