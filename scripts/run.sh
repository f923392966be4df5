#!/usr/bin/env bash
# Run Rightsizer on this machine: migrate, create the first admin, then the web
# server, a Celery worker with the beat scheduler, and an agent reporting this
# machine. Ctrl-C stops them all.
# Uses SQLite and an on-disk broker under var/ unless DATABASE_URL / REDIS_URL are set.
# DEMO=1 (make demo) also pushes a simulated fleet's two weeks through the ingest API and
# runs the analysis, so the pages have charts and advice at once.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
HOST=${RIGHTSIZER_HOST:-127.0.0.1}
PORT=${RIGHTSIZER_PORT:-8000}
# Links in alerts (webhook, Slack, email) lead to this server, not to the setting's :8000 default.
export RIGHTSIZER_SITE_URL=${RIGHTSIZER_SITE_URL:-http://$HOST:$PORT}
WEB_WORKERS=${RIGHTSIZER_WEB_WORKERS:-2}
VAR=${RIGHTSIZER_VAR_DIR:-var}
# The web workers and the Celery pool count in files here; /metrics adds them up. Counts start afresh.
export PROMETHEUS_MULTIPROC_DIR="$VAR/metrics"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

"$PY" manage.py migrate --no-input -v0
"$PY" manage.py collectstatic --no-input -v0
# Said again in the ready message at the end, past the servers' start-up lines.
ADMIN_LOGIN=$("$PY" manage.py bootstrap_admin)
echo "$ADMIN_LOGIN"
TOKEN_FILE=$("$PY" manage.py local_agent_token)

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping…"
  # Newest first: the agent pushes what it holds while the web server still answers.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
# A normal exit after Ctrl-C: make then says nothing of an interrupt.
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

# The demo's history arrives as a few hundred pushes: one access-log line each would bury the login.
if [ "${DEMO:-}" = 1 ]; then export RIGHTSIZER_ACCESS_LOG=${RIGHTSIZER_ACCESS_LOG:-false}; fi
# Each in its own session, so Ctrl-C reaches only this script, which stops them in order.
setsid "$VENV/bin/gunicorn" -c python:rightsizer.gunicorn_conf rightsizer.wsgi --bind "$HOST:$PORT" \
  --workers "$WEB_WORKERS" --log-level warning &
pids+=($!)
setsid "$VENV/bin/celery" -A rightsizer --quiet worker --beat --loglevel INFO --concurrency 1 \
  --schedule "$VAR/celerybeat-schedule" &
pids+=($!)
# An agent reporting this machine; its first push comes after 30 s, and it retries
# (from its spool) until the server answers.
RIGHTSIZER_URL="http://$HOST:$PORT" RIGHTSIZER_TOKEN_FILE="$TOKEN_FILE" \
  RIGHTSIZER_STATE_DIR="$VAR/agent" RIGHTSIZER_LABELS="${RIGHTSIZER_LOCAL_LABELS:-deployment=local}" \
  setsid "$VENV/bin/rightsizer-agent" run &
pids+=($!)

if [ "${DEMO:-}" = 1 ]; then
  "$PY" manage.py demo --url "http://$HOST:$PORT" --token-file "$TOKEN_FILE"
fi

echo
echo "Rightsizer is running at http://$HOST:$PORT/  (API docs: http://$HOST:$PORT/api/v1/docs)"
echo "$ADMIN_LOGIN"
echo "Press Ctrl-C to stop."
# Whichever process ends first (or Ctrl-C) takes the others down with it.
wait -n "${pids[@]}"
