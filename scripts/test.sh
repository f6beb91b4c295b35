#!/usr/bin/env bash
# The test command: starts the local services the tests need, runs
# `cargo test --workspace "$@"` against them (without `--workspace` when `-p` is given),
# then the core oracle tests on local-cluster[3,1], and stops the services on exit.
#
# Services and tools:
# - iproute2 (`ip netns`, for the multi-host cluster test), installed when missing and root.
# - S3: moto (a Python S3 server) on 127.0.0.1 at a free port, with one bucket, for
#   spate-object-store's tests. Installed on first use into a virtualenv under
#   ${SPATE_SERVICES_DIR:-$HOME/.cache/spate-services}/venv-moto (about 40 s; needs PyPI).
#
# - Kafka: tansu 0.6.0 (a Kafka-protocol broker, SQLite storage) on 127.0.0.1 at a free
#   port, for spate-kafka's tests. Installed on first use with `cargo install` into
#   ${SPATE_SERVICES_DIR:-$HOME/.cache/spate-services}/tansu (7 to 12 minutes on 2 cores;
#   needs crates.io). See ../shared/kafka.md.
# - Kinesis: kinesalite 3.3.3 (a Kinesis-API server on Node.js, in memory) on 127.0.0.1 at
#   a free port, for spate-kinesis' tests. Installed on first use with npm into
#   ${SPATE_SERVICES_DIR:-$HOME/.cache/spate-services}/kinesalite (seconds; needs the npm
#   registry; Node.js and npm come from apt when missing). See ../shared/services.md.
# - PostgreSQL 15 (Debian's `postgresql`, installed with apt when missing and root) on
#   127.0.0.1 at a free port, a fresh cluster in a temporary directory with the database
#   `spate_test`, for spate-db's tests.
# - Headless Chromium and chromedriver (Debian's `chromium` and `chromium-driver`,
#   installed with apt when missing and root; about 35 s) for spate-ui's browser test,
#   which starts chromedriver itself on a free loopback port and stops it.
#
# Exported for the tests: SPATE_TEST_S3_ENDPOINT, SPATE_TEST_S3_BUCKET, the standard
# AWS_* variables (endpoint, test credentials, region, plain HTTP allowed),
# SPATE_TEST_KAFKA_BROKERS and SPATE_TEST_TANSU, SPATE_TEST_KINESIS_ENDPOINT,
# SPATE_TEST_POSTGRES (connection parameters), and SPATE_TEST_REQUIRE_SERVICES (a test
# whose service is missing fails instead of saying SKIPPED).
#
#   bash scripts/test.sh                          # the whole workspace
#   bash scripts/test.sh -p spate-object-store    # arguments go to cargo test
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES_DIR="${SPATE_SERVICES_DIR:-$HOME/.cache/spate-services}"
VENV="$SERVICES_DIR/venv-moto"
MOTO_SERVER="$VENV/bin/moto_server"

log() { echo "scripts/test.sh: $*" >&2; }

TANSU_ROOT="$SERVICES_DIR/tansu"
TANSU="$TANSU_ROOT/bin/tansu"

install_tansu() {
  mkdir -p "$SERVICES_DIR"
  local started=$SECONDS
  log "installing tansu 0.6.0 (a Kafka-protocol broker) into $TANSU_ROOT: 7 to 12 minutes"
  cargo install --quiet tansu@0.6.0 --locked --features libsql --root "$TANSU_ROOT"
  log "tansu installed in $((SECONDS - started)) s"
}

KINESALITE_DIR="$SERVICES_DIR/kinesalite"

install_kinesalite() {
  mkdir -p "$KINESALITE_DIR"
  local started=$SECONDS
  if ! command -v npm > /dev/null || ! command -v node > /dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
      log "node/npm missing: installing them with apt-get"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm > /dev/null
    else
      log "Node.js and npm are needed for kinesalite; install them (or run as root)"
      exit 1
    fi
  fi
  (cd "$KINESALITE_DIR" && npm install --silent --no-audit --no-fund kinesalite@3.3.3 > /dev/null)
  # The CLI listens on every interface; this wrapper binds loopback only.
  cat > "$KINESALITE_DIR/start-kinesalite.js" << 'EOF_JS'
const port = parseInt(process.env.KINESALITE_PORT || '4567', 10);
const server = require('kinesalite')({ createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50, shardLimit: 100 });
server.listen(port, '127.0.0.1', () => console.log('kinesalite listening', server.address()));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
EOF_JS
  log "kinesalite installed in $((SECONDS - started)) s ($KINESALITE_DIR)"
}

install_moto() {
  mkdir -p "$SERVICES_DIR"
  local started=$SECONDS
  if ! python3 -m venv --help > /dev/null 2>&1 || ! python3 -c 'import ensurepip' > /dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
      log "python3-venv missing: installing it with apt-get"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv > /dev/null
    else
      log "python3 -m venv is unavailable; install python3-venv (or run as root)"
      exit 1
    fi
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.*'
  log "moto installed in $((SECONDS - started)) s ($VENV)"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# An HTTP request without curl, for machines that lack it: METHOD URL -> status code.
http() {
  if command -v curl > /dev/null; then
    curl -s -o /dev/null -w '%{http_code}' -X "$1" "$2" || true
  else
    python3 - "$1" "$2" << 'PY' || true
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[2], method=sys.argv[1])
try:
    print(urllib.request.urlopen(req, timeout=2).status, end="")
except urllib.error.HTTPError as e:
    print(e.code, end="")
except Exception:
    print("000", end="")
PY
  fi
}

# The multi-host cluster test makes network namespaces with `ip netns` (iproute2).
if ! command -v ip > /dev/null && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  log "iproute2 missing: installing it with apt-get (for the multi-host test)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 > /dev/null
fi

# Installed and working (a venv whose Python went away is made again).
if ! { [ -x "$MOTO_SERVER" ] && "$VENV/bin/python" -c 'import moto.server' 2> /dev/null; }; then
  install_moto
fi

# An earlier install (here or in ~/.cargo/bin) is used as it is.
if ! "$TANSU" --version 2> /dev/null | grep -q '0\.6\.0'; then
  if command -v tansu > /dev/null && tansu --version 2> /dev/null | grep -q '0\.6\.0'; then
    TANSU="$(command -v tansu)"
  else
    install_tansu
  fi
fi

if [ ! -f "$KINESALITE_DIR/start-kinesalite.js" ] || [ ! -d "$KINESALITE_DIR/node_modules/kinesalite" ]; then
  install_kinesalite
fi

if [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    log "Chromium missing: installing chromium and chromium-driver with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver > /dev/null
  else
    log "Chromium is needed for spate-ui's browser test: install chromium and chromium-driver (or run as root)"
    exit 1
  fi
fi

PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1)"
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    log "PostgreSQL missing: installing it with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null
    PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  else
    log "PostgreSQL is needed for spate-db's tests: install postgresql (or run as root)"
    exit 1
  fi
fi
PG_PORT="$(free_port)"
PG_DIR="$(mktemp -d -t spate-pg.XXXXXX)"
# The server refuses to run as root: its directory belongs to the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DIR"; fi
chmod 700 "$PG_DIR"
as_pg "$PGBIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --no-sync -E UTF8 \
  --locale=C.UTF-8 > "$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 -o \
  "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start > /dev/null || { cat "$PG_DIR/server.log" >&2; exit 1; }
PG_PID="$(head -1 "$PG_DIR/data/postmaster.pid")"

MOTO_PORT="$(free_port)"
MOTO_LOG="$(mktemp -t spate-moto.XXXXXX.log)"
"$MOTO_SERVER" -H 127.0.0.1 -p "$MOTO_PORT" > "$MOTO_LOG" 2>&1 &
MOTO_PID=$!
KAFKA_PORT="$(free_port)"
KAFKA_DIR="$(mktemp -d -t spate-tansu.XXXXXX)"
(cd "$KAFKA_DIR" && exec "$TANSU" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" --storage-engine sqlite://tansu.db \
  > "$KAFKA_DIR/tansu.log" 2>&1) &
KAFKA_PID=$!
KINESIS_PORT="$(free_port)"
KINESIS_LOG="$(mktemp -t spate-kinesalite.XXXXXX.log)"
KINESALITE_PORT="$KINESIS_PORT" node "$KINESALITE_DIR/start-kinesalite.js" > "$KINESIS_LOG" 2>&1 &
KINESIS_PID=$!
stop_services() {
  kill -TERM "$MOTO_PID" "$KAFKA_PID" "$KINESIS_PID" 2> /dev/null || true
  kill -INT "$PG_PID" 2> /dev/null || true
  wait "$MOTO_PID" "$KAFKA_PID" "$KINESIS_PID" 2> /dev/null || true
  for _ in $(seq 1 50); do kill -0 "$PG_PID" 2> /dev/null || break; sleep 0.1; done
  rm -f "$MOTO_LOG" "$KINESIS_LOG"
  rm -rf "$KAFKA_DIR" "$PG_DIR"
}
trap stop_services EXIT

ENDPOINT="http://127.0.0.1:$MOTO_PORT"
ready=""
for _ in $(seq 1 200); do
  if [ "$(http GET "$ENDPOINT/moto-api/")" = 200 ]; then
    ready=1
    break
  fi
  if ! kill -0 "$MOTO_PID" 2> /dev/null; then
    break
  fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  log "moto did not start on $ENDPOINT; its log:"
  cat "$MOTO_LOG" >&2
  exit 1
fi

BUCKET="spate-test"
status="$(http PUT "$ENDPOINT/$BUCKET")"
if [ "$status" != 200 ]; then
  log "creating bucket $BUCKET on $ENDPOINT answered HTTP $status"
  exit 1
fi
log "moto on $ENDPOINT (pid $MOTO_PID), bucket $BUCKET"

for _ in $(seq 1 200); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $KAFKA_PORT), 1)" 2> /dev/null; then
    break
  fi
  if ! kill -0 "$KAFKA_PID" 2> /dev/null; then
    log "tansu exited; its log:"
    cat "$KAFKA_DIR/tansu.log" >&2
    exit 1
  fi
  sleep 0.1
done
log "tansu (Kafka) on 127.0.0.1:$KAFKA_PORT (pid $KAFKA_PID)"
export SPATE_TEST_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export SPATE_TEST_TANSU="$TANSU"

for _ in $(seq 1 200); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $KINESIS_PORT), 1)" 2> /dev/null; then
    break
  fi
  if ! kill -0 "$KINESIS_PID" 2> /dev/null; then
    log "kinesalite exited; its log:"
    cat "$KINESIS_LOG" >&2
    exit 1
  fi
  sleep 0.1
done
log "kinesalite (Kinesis) on 127.0.0.1:$KINESIS_PORT (pid $KINESIS_PID)"
export SPATE_TEST_KINESIS_ENDPOINT="http://127.0.0.1:$KINESIS_PORT"

"$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres spate_test
log "PostgreSQL on 127.0.0.1:$PG_PORT (pid $PG_PID)"
export SPATE_TEST_POSTGRES="host=127.0.0.1 port=$PG_PORT user=postgres dbname=spate_test"
export SPATE_TEST_REQUIRE_SERVICES=1

export SPATE_TEST_S3_ENDPOINT="$ENDPOINT"
export SPATE_TEST_S3_BUCKET="$BUCKET"
export AWS_ENDPOINT_URL="$ENDPOINT"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_ALLOW_HTTP=true
unset AWS_ENDPOINT AWS_ENDPOINT_URL_S3 AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_PROFILE || true

# `-p NAME` picks packages: then not the whole workspace (cargo would test all of it).
scope=(--workspace)
for a in "$@"; do
  case "$a" in
    --) break ;;
    -p | -p* | --package | --package=*) scope=() ;;
  esac
done
cargo test "${scope[@]}" "$@"

# The core RDD oracle tests once more, each test also run on local-cluster[3,1] (a child
# process as the driver, three executor processes; see tests/oracle_common). Only for a
# whole-workspace run.
if [ ${#scope[@]} -gt 0 ] && [ "$#" -eq 0 -o "${1:-}" = "--no-fail-fast" ]; then
  ORACLE_MASTER='local-cluster[3,1]' cargo test -p spate-core \
    --test oracle_actions --test oracle_engine --test oracle_narrow \
    --test oracle_pairs --test oracle_sources "$@" -- --test-threads=1
fi
