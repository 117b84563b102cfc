#!/usr/bin/env bash
# `npm test`: make sure Redis and RabbitMQ are up, build, then run every test file with
# node's test runner over the app's tests and every workspace package's. Extra arguments select
# test paths, e.g. `npm test -- dist/test/unit` or `npm test -- packages/embedded-mongo/dist/test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
# A clean build, so tests of deleted sources never linger in dist/.
rm -rf dist packages/*/dist
npm run build --silent
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(dist/test/ packages/*/dist/test/); fi
# TEST_PATIENCE (default 1) stretches every wait's deadline on a busy machine (test/support/sockets.ts).
timeout_ms=$((180000 * ${TEST_PATIENCE:-1}))
exec node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="$timeout_ms" "${targets[@]}"
