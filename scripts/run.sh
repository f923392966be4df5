#!/usr/bin/env bash
# Run Rightsizer on this machine: migrate, create the first admin, then the web
# server, a Celery worker with the beat scheduler, and an agent reporting this
# machine. Ctrl-C stops them all.
# Uses SQLite and an on-disk broker under var/ unless DATABASE_URL / REDIS_URL are set.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
HOST=${RIGHTSIZER_HOST:-127.0.0.1}
PORT=${RIGHTSIZER_PORT:-8000}
WEB_WORKERS=${RIGHTSIZER_WEB_WORKERS:-2}

"$PY" manage.py migrate --no-input -v0
"$PY" manage.py collectstatic --no-input -v0
"$PY" manage.py bootstrap_admin
TOKEN_FILE=$("$PY" manage.py local_agent_token)

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$VENV/bin/gunicorn" rightsizer.wsgi --bind "$HOST:$PORT" --workers "$WEB_WORKERS" \
  --access-logfile - --log-level warning &
pids+=($!)
"$VENV/bin/celery" -A rightsizer worker --beat --loglevel INFO --concurrency 1 \
  --schedule "${RIGHTSIZER_VAR_DIR:-var}/celerybeat-schedule" &
pids+=($!)

# A local agent reporting this machine, once the web server answers.
(
  for _ in $(seq 1 50); do
    "$PY" -c "import urllib.request; urllib.request.urlopen('http://$HOST:$PORT/healthz', timeout=1)" 2>/dev/null && break
    sleep 0.2
  done
  RIGHTSIZER_URL="http://$HOST:$PORT" RIGHTSIZER_TOKEN_FILE="$TOKEN_FILE" \
  RIGHTSIZER_STATE_DIR="${RIGHTSIZER_VAR_DIR:-var}/agent" RIGHTSIZER_LABELS="${RIGHTSIZER_LOCAL_LABELS:-deployment=local}" \
    exec "$VENV/bin/rightsizer-agent" run
) &
pids+=($!)

echo
echo "Rightsizer is running at http://$HOST:$PORT/  (API docs: http://$HOST:$PORT/api/v1/docs)"
echo "Log in with the admin account above. Press Ctrl-C to stop."
# Whichever process ends first (or Ctrl-C) takes the others down with it.
wait -n "${pids[@]}"
