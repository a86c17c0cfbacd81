# syntax=docker/dockerfile:1

# The chat service on the embedded default: one process, SQLite in the /data volume.
#   docker build -t fastify-chat .
#   docker run -p 3000:3000 -v chat-data:/data fastify-chat
# Configuration is the environment (see README.md); NODE_ENV is left unset so that the image
# starts in dev mode for a first try. Anything reachable from outside runs with
# NODE_ENV=production, which refuses to start without CHAT_JWT_SECRET and CHAT_ADMIN_TOKEN.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile TypeScript and the native modules ---------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# better-sqlite3 (and bufferutil, utf-8-validate) build from source when no prebuilt
# binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json tsconfig.client.json ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: node_modules and dist only, as the unprivileged node user ---------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app

ENV PORT=3000 \
    HOST=0.0.0.0 \
    CHAT_DB=/data/chat.sqlite

# Code stays owned by root (read-only for the service); only /data is writable.
# package.json is needed at run time: its "type": "module" makes dist/*.js ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

USER node
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The same command as npm start: bin/engine-node picks node's flags for the engine, then execs
# node, so node itself is PID 1 (not npm, not sh) and SIGTERM reaches the service: it closes
# every socket with 1001 and exits within CHAT_SHUTDOWN_MS. Give `docker stop` more time than
# that. A test keeps this CMD and npm start equal.
STOPSIGNAL SIGTERM
CMD ["sh", "bin/engine-node", "dist/src/server.js"]
