#!/usr/bin/env bash
# Leftovers of crashed RabbitMQ integration tests: isolated nodes (parley-test-*@localhost),
# vhosts (parley-test-*) on the shared broker and their temp dirs.
#   scripts/rabbit-test-node.sh          list them
#   scripts/rabbit-test-node.sh clean    shut them down / delete them (not while tests run!)
# Only names starting with parley-test- are ever touched: the shared node rabbit@localhost is not.
set -euo pipefail
mode="${1:-list}"
nodes=$(epmd -names 2>/dev/null | awk '$2 ~ /^parley-test-/ {print $2 "@localhost"}')
vhosts=$(rabbitmqctl -q list_vhosts name --no-table-headers 2>/dev/null | grep '^parley-test-' || true)
echo "nodes: ${nodes:-none}"
echo "vhosts: ${vhosts:-none}"
[ "$mode" = clean ] || exit 0
for node in $nodes; do rabbitmqctl -n "$node" -q shutdown || echo "could not stop $node" >&2; done
for vhost in $vhosts; do rabbitmqctl -q delete_vhost "$vhost" || echo "could not delete $vhost" >&2; done
rm -rf "${TMPDIR:-/tmp}"/parley-rmq-*
