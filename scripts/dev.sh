#!/usr/bin/env bash
# `npm run dev`: the api in watch mode (tsx, restarts on server changes) on PORT (3000) and the
# Vite dev server on WEB_DEV_PORT (5173, hot reload of web/ and the SDK), which proxies /api,
# /health and Socket.IO to the api so the pages keep one origin. Open http://localhost:5173/.
set -euo pipefail
cd "$(dirname "$0")/.."
pids=() # the processes themselves (not npx wrappers), so stopping them stops everything
stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop EXIT INT TERM
node_modules/.bin/tsx watch src/entrypoints/main.ts &
pids+=($!)
PARLEY_API_URL="http://127.0.0.1:${PORT:-3000}" node_modules/.bin/vite --config web/vite.config.js &
pids+=($!)
wait -n
