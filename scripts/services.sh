#!/usr/bin/env bash
# Install (when missing) and start what the app's tests, `make app` and `make bench` talk to, on
# 127.0.0.1 only: PostgreSQL and Redis from Debian's packages, and Apache Kafka's jars from Maven
# Central. Safe to run again: every step checks first and says what it did.
#
#   scripts/services.sh            PostgreSQL, Redis, wrk, pgbench and the Kafka jars (what the tests need)
#   scripts/services.sh --kafka    also a long-running single-node broker on 127.0.0.1:9092
#
# The tests and `make app` start their own brokers on free ports from the same jars
# (app/dev/localbroker.py); the long-running one is for poking at the app by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_PORT=5432
REDIS_PORT=6379
KAFKA_PORT=9092
KAFKA_LIB=.cache/kafka/lib
APT_UPDATED=0

say() { printf 'services: %s\n' "$*"; }
die() {
  printf 'services: error: %s\n' "$*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" -eq 0 ] || die "installing $1 needs root (apt-get install $1), or install it yourself and rerun"
}

apt_install() {
  need_root "$*"
  command -v apt-get >/dev/null || die "no apt-get on this machine: install the Debian packages '$*' by hand"
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  say "apt-get install $* (about 30 s the first time)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

postgres() {
  if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql postgresql-contrib
  fi
  local version
  version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  if [ ! -d "/etc/postgresql/$version/main" ]; then
    say "creating PostgreSQL $version cluster 'main'"
    pg_createcluster "$version" main >/dev/null
  fi
  local conf="/etc/postgresql/$version/main"
  # Loopback only, trusted: a throwaway server for tests on this machine, never a deployed one.
  # More connections than the default 100: every test database, pool and benchmark client counts.
  local settings="$conf/conf.d/webscale-local.conf"
  local wanted
  wanted=$'listen_addresses = \'127.0.0.1\'\nport = '"$PG_PORT"$'\nmax_connections = 400\n'
  if [ ! -f "$settings" ] || [ "$(cat "$settings")" != "${wanted%$'\n'}" ]; then
    say "configuring PostgreSQL: loopback only, max_connections 400"
    mkdir -p "$conf/conf.d"
    printf '%s' "${wanted%$'\n'}" >"$settings"
    pg_ctlcluster --skip-systemctl-redirect "$version" main stop >/dev/null 2>&1 || true
  fi
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"; then
    say "PostgreSQL: trusting connections from 127.0.0.1 (test server)"
    sed -i '/^host\s.*127\.0\.0\.1\/32/d' "$conf/pg_hba.conf"
    printf 'host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n' >>"$conf/pg_hba.conf"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload >/dev/null 2>&1 || true
  fi
  if pg_isready -h 127.0.0.1 -p "$PG_PORT" -q; then
    say "PostgreSQL $version already running on 127.0.0.1:$PG_PORT"
  else
    say "starting PostgreSQL $version on 127.0.0.1:$PG_PORT"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
}

redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    say "Redis already running on 127.0.0.1:$REDIS_PORT"
  else
    say "starting Redis on 127.0.0.1:$REDIS_PORT (no persistence)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
      --logfile /tmp/webscale-redis.log
  fi
}

bench_tools() {
  # `make bench` drives the API with wrk (compiled, Lua-scriptable) and the database with pgbench.
  if command -v wrk >/dev/null; then
    say "wrk already installed"
  else
    apt_install wrk
  fi
  command -v pgbench >/dev/null || apt_install postgresql-contrib
}

kafka_jars() {
  command -v java >/dev/null || die "no java: install Debian's openjdk-17-jre-headless (Kafka 4 needs Java 17+)"
  command -v mvn >/dev/null || die "no mvn: install Debian's maven (it assembles Kafka's jars from Maven Central)"
  local stamp="$KAFKA_LIB/.pom.sha256"
  local sum
  sum=$(sha256sum tools/kafka/pom.xml | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    say "Kafka jars already in $KAFKA_LIB ($(ls "$KAFKA_LIB" | wc -l) files)"
    return
  fi
  say "assembling Apache Kafka's jars from Maven Central into $KAFKA_LIB (about 30 s the first time)"
  rm -rf "$KAFKA_LIB"
  mvn -q -B -Dstyle.color=never -f tools/kafka/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$PWD/$KAFKA_LIB" -DincludeScope=runtime
  printf '%s' "$sum" >"$stamp"
  say "Kafka jars ready ($(ls "$KAFKA_LIB" | wc -l) files)"
}

kafka_broker() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; then
    say "Kafka already listening on 127.0.0.1:$KAFKA_PORT"
    return
  fi
  say "starting a single-node Kafka (KRaft) on 127.0.0.1:$KAFKA_PORT, data in .cache/kafka/node"
  PYTHONPATH=. "${PYTHON:-python3}" -m app.dev.localbroker serve --port "$KAFKA_PORT" --data-dir .cache/kafka/node --daemon
}

wait_ready() {
  for _ in $(seq 1 30); do
    if pg_isready -h 127.0.0.1 -p "$PG_PORT" -q && redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
      say "ready: PostgreSQL 127.0.0.1:$PG_PORT, Redis 127.0.0.1:$REDIS_PORT"
      return
    fi
    sleep 1
  done
  die "PostgreSQL or Redis did not become ready in 30 s (see /var/log/postgresql, /tmp/webscale-redis.log)"
}

# Optional tools: Chromium opens out/<stack>/plan.html in a test; Graphviz's dot draws the diagram
# in `make docs`. Installed when missing and possible; otherwise a warning, never a failure here.
optional_tool() {
  local command=$1 package=$2 why=$3
  if command -v "$command" >/dev/null; then
    say "$package already installed ($why)"
  elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt_install "$package"
  else
    printf 'services: warning: %s is missing (%s): apt-get install -y %s\n' "$package" "$why" "$package" >&2
  fi
}

postgres
redis
bench_tools
kafka_jars
optional_tool chromium chromium "the plan page test"
optional_tool dot graphviz "make docs"
wait_ready
if [ "${1:-}" = "--kafka" ]; then
  kafka_broker
fi
