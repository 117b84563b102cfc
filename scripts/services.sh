#!/usr/bin/env bash
# Makes sure the Redis and RabbitMQ that Parley (and its tests) use are answering.
# Installed but stopped -> start them. Missing, as root on Debian/Ubuntu -> apt-get install.
# Otherwise -> say exactly what to run. Remote URLs (REDIS_URL / AMQP_URL) are only checked.
set -euo pipefail

redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
amqp_url=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}

host_port() { # url default_port -> "host port"
  local rest=${1#*://}; rest=${rest#*@}; rest=${rest%%/*}
  local host=${rest%%:*} port=${rest##*:}
  [ "$port" = "$rest" ] && port=$2
  echo "${host:-127.0.0.1} $port"
}
read -r redis_host redis_port <<<"$(host_port "$redis_url" 6379)"
read -r amqp_host amqp_port <<<"$(host_port "$amqp_url" 5672)"
is_local() { [[ $1 == 127.* || $1 == localhost || $1 == ::1 ]]; }

redis_up() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$redis_host/$redis_port; printf 'PING\r\n' >&3; head -c 5 <&3" 2>/dev/null | grep -q PONG
}
amqp_up() {
  # An AMQP 0-9-1 server answers the protocol header with a Connection.Start frame.
  timeout 5 bash -c "exec 3<>/dev/tcp/$amqp_host/$amqp_port; printf 'AMQP\x00\x00\x09\x01' >&3; head -c 1 <&3" 2>/dev/null | od -An -tx1 | grep -q 01
}
wait_for() { # check seconds
  local deadline=$((SECONDS + $2))
  until $1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_install() {
  echo "services: installing $* with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >&2
}

# The Debian package of the same name as its server command: installed with apt-get when we may,
# otherwise say how to install it.
ensure_installed() { # <command/package> <name>
  command -v "$1" >/dev/null && return 0
  if can_apt; then apt_install "$1"; return; fi
  echo "services: $2 is not installed. Run: sudo apt-get install -y $1" >&2
  return 1
}

ensure_redis() {
  redis_up && return 0
  if ! is_local "$redis_host"; then echo "services: Redis at $redis_url is not answering" >&2; return 1; fi
  ensure_installed redis-server Redis || return 1
  redis_up && return 0
  echo "services: starting redis-server on port $redis_port" >&2
  redis-server --daemonize yes --port "$redis_port" --save '' --appendonly no >&2
  wait_for redis_up 15 || { echo "services: redis-server did not come up on port $redis_port" >&2; return 1; }
}

ensure_rabbitmq() {
  # A busy broker can take seconds to answer: give it time before concluding anything.
  amqp_up || wait_for amqp_up 20 && return 0
  if ! is_local "$amqp_host"; then echo "services: RabbitMQ at $amqp_host:$amqp_port is not answering" >&2; return 1; fi
  ensure_installed rabbitmq-server RabbitMQ || return 1
  if timeout 20 rabbitmqctl -q ping >/dev/null 2>&1; then
    # The node runs. Only a stopped app (`rabbitmqctl stop_app`) is ours to start: a running
    # broker that does not answer may be serving others, so it is never stopped from here.
    if [ "$(timeout 20 rabbitmqctl -q eval 'rabbit:is_running().' 2>/dev/null)" = false ]; then
      echo "services: the RabbitMQ app is stopped; starting it" >&2
      timeout 120 rabbitmqctl -q start_app >/dev/null 2>&1 || true
      wait_for amqp_up 30 && return 0
    fi
    echo "services: the RabbitMQ node runs but port $amqp_port does not answer. Listening there:" >&2
    ss -ltnp "sport = :$amqp_port" >&2 || true
    echo "services: check 'rabbitmqctl status'; to restart it: rabbitmqctl stop && rabbitmq-server -detached" >&2
    return 1
  fi
  echo "services: starting rabbitmq-server" >&2
  rabbitmq-server -detached >&2 || true
  # await_startup fails at once while the node is still registering, so poll it.
  local deadline=$((SECONDS + 90))
  until timeout 15 rabbitmqctl -q await_startup >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "services: RabbitMQ did not start within 90 s" >&2; return 1; }
    sleep 0.5
  done
  wait_for amqp_up 30 && return 0
  echo "services: RabbitMQ started but port $amqp_port is not answering. Listening there:" >&2
  ss -ltnp "sport = :$amqp_port" >&2 || true
  return 1
}

# RabbitMQ 3.10 books 3 file handles per quorum queue against a budget taken from its open-files
# limit (927 for the default 1024). Past ~300 quorum queues every new connection waits for a
# handle forever: port 5672 accepts but stays silent and `rabbitmqctl status` hangs. Each app a
# test starts declares ~10 quorum queues (job, retry and parking queues), and suites sharing the
# broker reach that. The booking is accounting, not open descriptors (~130 real ones at 340
# queues), so a local broker still on a budget under 16384 gets that budget, at run time: nothing
# is restarted. Production brokers need a real `ulimit -n` of 65536 (docs/DEPLOYMENT.md).
ensure_rabbitmq_handles() {
  is_local "$amqp_host" && command -v rabbitmqctl >/dev/null || return 0
  local limit
  limit=$(timeout 20 rabbitmqctl -q eval 'file_handle_cache:get_limit().' 2>/dev/null) || return 0
  [[ $limit =~ ^[0-9]+$ ]] && ((limit < 16384)) || return 0
  echo "services: RabbitMQ's file handle budget is $limit (about $((limit / 3)) quorum queues); raising it to 16384" >&2
  timeout 20 rabbitmqctl -q eval 'file_handle_cache:set_limit(16384).' >/dev/null 2>&1 ||
    echo "services: could not raise it; long test runs may stall RabbitMQ (see the comment above)" >&2
}

# Nginx is only needed by `npm run cluster` and its tests (which skip without it), so a missing
# Nginx that cannot be installed is reported, never fatal. Nothing is started here: the cluster
# runs its own Nginx with its own config.
ensure_nginx() {
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] && return 0
  if can_apt; then apt_install nginx || echo "services: could not install nginx; cluster tests will skip" >&2
  else echo "services: nginx is not installed (cluster tests will skip). Run: sudo apt-get install -y nginx" >&2; fi
}

# The examples' tests: examples/curl.md runs with curl and jq; examples/python with Debian's
# python-socketio, websocket-client and requests (the polling transport).
ensure_example_tools() {
  ensure_installed curl curl || true
  ensure_installed jq jq || true
  /usr/bin/python3 -c 'import socketio, websocket, requests' 2>/dev/null && return 0
  if can_apt; then apt_install python3-socketio python3-websocket python3-requests
  else echo "services: the Python interop test needs: sudo apt-get install -y python3-socketio python3-websocket python3-requests" >&2; fi
}

# The web UI's browser tests drive Debian's Chromium (playwright-core, no browser download);
# without it they skip.
ensure_chromium() {
  command -v chromium >/dev/null && return 0
  if can_apt; then apt_install chromium || echo "services: could not install chromium; browser tests will skip" >&2
  else echo "services: chromium is not installed (browser tests will skip). Run: sudo apt-get install -y chromium" >&2; fi
}

ensure_redis
ensure_rabbitmq_handles # first: a broker stalled on its handle budget answers again
ensure_rabbitmq
ensure_rabbitmq_handles # again: a broker started just now has the default budget
ensure_nginx
ensure_example_tools
ensure_chromium
echo "services: Redis ($redis_host:$redis_port) and RabbitMQ ($amqp_host:$amqp_port) are up" >&2
