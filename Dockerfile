# Parley: one image for every role (ROLE=api|worker|scheduler|all).
# Build: compile TypeScript with the dev dependencies; runtime: production dependencies only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/embedded-mongo/package.json ./packages/embedded-mongo/
COPY packages/client/package.json ./packages/client/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY src ./src
RUN npx tsc -b
# The web UI (chat at /, dashboard at /admin), bundled with its dependencies into dist/web.
COPY web ./web
RUN npm run build:web

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/embedded-mongo/package.json ./packages/embedded-mongo/
COPY packages/client/package.json ./packages/client/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist/src ./dist/src
COPY --from=build --chown=node:node /app/dist/web ./dist/web
# The engine workspace package: node_modules/@parley/embedded-mongo links here.
COPY --from=build --chown=node:node /app/packages/embedded-mongo/package.json ./packages/embedded-mongo/
COPY --from=build --chown=node:node /app/packages/embedded-mongo/dist/src ./packages/embedded-mongo/dist/src
COPY --chown=node:node package.json ./
# The image's unprivileged user; nothing in the app needs root. It owns ./data, where uploads
# (UPLOAD_DIR, a volume in docker-compose.yml) and an embedded engine's files go: /app is root's.
RUN mkdir -p /app/data/uploads && chown -R node:node /app/data
USER node
EXPOSE 3000
# SIGTERM goes straight to node (no npm wrapper), which drains and exits within SHUTDOWN_TIMEOUT_MS.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/entrypoints/main.js"]
