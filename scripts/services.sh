#!/usr/bin/env bash
# Installs and starts what Lantern's tests need. Idempotent: safe to run on a machine where all of it is up.
set -euo pipefail

PG_VERSION=15
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
[ -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ] || need_apt+=(postgresql)
[ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# The Vertex AI token test makes a service-account key with openssl.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# The deployment test checks the systemd unit with systemd-analyze.
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
# The SAML service provider (samael with xmlsec) links libxmlsec1 and generates bindings with libclang at build time.
for pkg in libxmlsec1-dev libxml2-dev pkg-config libclang-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done

# The container test (scripts/container-image.sh): podman with its recommended networking (netavark,
# iptables) for published ports, runc as the runtime, debootstrap for the Debian base.
need_apt_with_recommends=()
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || need_apt_with_recommends+=("$tool")
done

if [ $((${#need_apt[@]} + ${#need_apt_with_recommends[@]})) -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "services.sh: need root to install: ${need_apt[*]} ${need_apt_with_recommends[*]}" >&2
    exit 1
  fi
  echo "services.sh: installing ${need_apt[*]} ${need_apt_with_recommends[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
  if [ ${#need_apt_with_recommends[@]} -gt 0 ]; then
    apt-get install -y -qq "${need_apt_with_recommends[@]}" >/dev/null
  fi
fi
echo "services.sh: $(podman --version), runc $(runc --version | awk 'NR == 1 { print $3 }'), debootstrap ready"
echo "services.sh: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), chromedriver ready"

# wait_for SECONDS CMD...: polls CMD once a second until it succeeds; fails after SECONDS tries.
wait_for() {
  local tries=$1
  shift
  for _ in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

# PostgreSQL: start the cluster if down, then make sure role and database exist.
pg_sql() { (cd / && su postgres -c 'psql -X -q -tA -v ON_ERROR_STOP=1') <<<"$1"; }
if [ "$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" { print $4 }')" != online ]; then
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start
fi
if ! wait_for 30 pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "services.sh: PostgreSQL $PG_VERSION did not become ready" >&2
  exit 1
fi
pg_sql "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lantern') THEN
    CREATE ROLE lantern LOGIN SUPERUSER PASSWORD 'lantern';
  END IF;
END \$\$;"
if [ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = 'lantern_test'")" != 1 ]; then
  pg_sql "CREATE DATABASE lantern_test OWNER lantern"
fi
echo "services.sh: PostgreSQL $PG_VERSION up at ${LANTERN_TEST_PG_URL:-postgres://lantern:lantern@127.0.0.1:5432/lantern_test}"

# MariaDB: start the server if it does not answer, then make sure database and users exist.
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld
if ! mariadb-admin ping >/dev/null 2>&1; then
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  start-stop-daemon --start --oknodo --background --chuid mysql --exec /usr/sbin/mariadbd -- --bind-address=127.0.0.1
  if ! wait_for 30 mariadb-admin ping; then
    echo "services.sh: MariaDB did not answer" >&2
    exit 1
  fi
fi
mariadb -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS lantern_test;
CREATE USER IF NOT EXISTS 'lantern'@'127.0.0.1' IDENTIFIED BY 'lantern';
CREATE USER IF NOT EXISTS 'lantern'@'localhost' IDENTIFIED BY 'lantern';
GRANT ALL PRIVILEGES ON *.* TO 'lantern'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'lantern'@'localhost';
SQL
echo "services.sh: MariaDB $(/usr/sbin/mariadbd --version 2>/dev/null | awk '{print $3}') up at ${LANTERN_TEST_MYSQL_URL:-mysql://lantern:lantern@127.0.0.1:3306/lantern_test}"

# Redis (shared sessions): start a throwaway server on loopback if none answers.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  if ! wait_for 30 redis-cli -h 127.0.0.1 -p 6379 ping; then
    echo "services.sh: Redis did not answer" >&2
    exit 1
  fi
fi
echo "services.sh: Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) up at ${LANTERN_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

# A test identity provider (OpenID Connect and SAML 2.0) for the single sign-on tests, in a virtualenv outside the
# clone: nanoidp from PyPI, pinned.
VENV="${LANTERN_TEST_VENV:-$HOME/.cache/lantern-venv}"
NANOIDP_VERSION=3.4.0
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('nanoidp') != '$NANOIDP_VERSION')" >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "nanoidp==$NANOIDP_VERSION"
fi
echo "services.sh: nanoidp $NANOIDP_VERSION in $VENV"
# compose.yaml is validated against the Compose specification's JSON schema, which check-jsonschema carries.
CHECK_JSONSCHEMA_VERSION=0.39.0
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('check-jsonschema') != '$CHECK_JSONSCHEMA_VERSION')" >/dev/null 2>&1; then
  "$VENV/bin/pip" install -q "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi
echo "services.sh: check-jsonschema $CHECK_JSONSCHEMA_VERSION in $VENV"
