#!/bin/sh
# Install the Rightsizer agent as a systemd service, in one line:
#   curl -fsSL <this file's raw URL> | sudo sh -s -- --url https://rightsizer.example.com --token rsa_… \
#     --from 'git+https://git.example.com/you/rightsizer.git@v0.1.0' [--labels deployment=chat-prod]
# --from is a pip source for the package: a git URL (git+https://…@tag), a release wheel's URL or
# path (…/rightsizer-0.1.0-py3-none-any.whl), or a checkout's directory. Run again to upgrade.
set -eu
URL= TOKEN= FROM= LABELS=
PREFIX=/opt/rightsizer-agent
while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2 ;;
    --token) TOKEN=$2; shift 2 ;;
    --from) FROM=$2; shift 2 ;;
    --labels) LABELS=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    *) echo "install.sh: unknown option $1 (--url, --token, --from, --labels, --prefix)" >&2; exit 2 ;;
  esac
done
[ -n "$URL" ] && [ -n "$TOKEN" ] && [ -n "$FROM" ] || {
  echo "install.sh: --url, --token and --from are required (the token: Settings → Agent tokens)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 2; }

case "$FROM" in
  git+*|http*://*) SPEC="rightsizer[agent] @ $FROM" ;;  # a direct reference: pip takes the extras from it
  *) SPEC="$FROM[agent]" ;;                           # a wheel file or a checkout
esac

id rightsizer-agent >/dev/null 2>&1 ||
  useradd --system --home /var/lib/rightsizer-agent --shell /usr/sbin/nologin rightsizer-agent
python3 -m venv "$PREFIX"
"$PREFIX/bin/pip" install --quiet --upgrade "$SPEC"

install -d -m 750 -g rightsizer-agent /etc/rightsizer
umask 027
printf 'RIGHTSIZER_URL=%s\nRIGHTSIZER_TOKEN=%s\nRIGHTSIZER_LABELS=%s\n' "$URL" "$TOKEN" "$LABELS" > /etc/rightsizer/agent.env
chgrp rightsizer-agent /etc/rightsizer/agent.env
UNIT=$("$PREFIX/bin/python" -c 'import collectors, pathlib; print(pathlib.Path(collectors.__file__).parent / "packaging" / "rightsizer-agent.service")')
sed "s#/opt/rightsizer-agent#$PREFIX#g" "$UNIT" > /etc/systemd/system/rightsizer-agent.service
systemctl daemon-reload
systemctl enable --now rightsizer-agent
sudo -u rightsizer-agent env $(cat /etc/rightsizer/agent.env) "$PREFIX/bin/rightsizer-agent" check || true
echo "rightsizer-agent installed: systemctl status rightsizer-agent; journalctl -u rightsizer-agent"
