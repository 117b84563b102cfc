#!/usr/bin/env bash
# `npm test`: make sure Redis and RabbitMQ are up, build, then run every test file with
# node's test runner. Extra arguments select test paths, e.g. `npm test -- dist/test/unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
# A clean build, so tests of deleted sources never linger in dist/.
rm -rf dist
npx tsc -p tsconfig.json
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(dist/test/); fi
exec node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=180000 "${targets[@]}"
