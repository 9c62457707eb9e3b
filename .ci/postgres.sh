#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the PostgreSQL tests (SPEC §15).
#
#   bash .ci/postgres.sh start   # installs PostgreSQL if missing, starts a cluster, prints and
#                                # writes `export PITWALL_TEST_POSTGRES=postgres://…` to the env
#                                # file (target/postgres.env unless PITWALL_PG_ENV says where)
#   source target/postgres.env
#   bash .ci/postgres.sh stop    # stops it and removes its directory
#
# As root (CI), the cluster runs as the unprivileged system user pitwall-pg (PostgreSQL refuses
# to run as root); otherwise as the current user. It listens on 127.0.0.1 only, on a free port,
# with its socket in its own temp dir, and trusts loopback: it holds nothing but test data.
# Running `start` again while it runs prints the same URL; `stop` without one is a no-op.
#
# Always: the role pitwall_password (password in PITWALL_TEST_POSTGRES_PASSWORD) must give its
# password (scram-sha-256), for the tests of PGPASSWORD and the password file.
# PITWALL_PG_TLS=1 at start also turns `ssl = on`, with a test CA (openssl) that signs the
# server's certificate for 127.0.0.1 and localhost: the env file then names the CA's file
# (PITWALL_TEST_POSTGRES_CA) and a second CA that signed nothing (PITWALL_TEST_POSTGRES_OTHER_CA),
# for the sslmode tests.
set -euo pipefail
cd "$(dirname "$0")/.."

ENV_FILE=${PITWALL_PG_ENV:-target/postgres.env}
PG_USER=pitwall-pg
ROLE=pitwall

say() { echo "postgres.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# The newest installed server's bin directory (Debian keeps it off PATH).
find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  return 1
}

install_postgres() {
  command -v apt-get >/dev/null 2>&1 || die "no PostgreSQL server found and no apt-get to install one"
  [[ $(id -u) == 0 ]] || die "no PostgreSQL server found; install the postgresql package (needs root)"
  say "installing postgresql with apt-get"
  # Only the binaries: no cluster of the distribution's own started on port 5432.
  mkdir -p /etc/postgresql-common
  if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  fi
  # Keep that file through the package's configuration (ucf, then dpkg), without a prompt.
  export DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold postgresql >/dev/null \
    || die "apt-get install postgresql failed"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [[ $(id -u) == 0 ]]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

running() {
  [[ -f $ENV_FILE ]] || return 1
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  [[ -n ${PITWALL_PG_DIR:-} && -d $PITWALL_PG_DIR/data && -n ${PITWALL_PG_PORT:-} ]] || return 1
  # Accepting connections, not merely a pid file whose process may be gone.
  "$PITWALL_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PITWALL_PG_PORT" -t 5
}

# The password of the role pitwall_password: test data only, like everything in the cluster.
PASSWORD=pitwall-test-password

# A test CA, the server's certificate and key signed by it (127.0.0.1 and localhost), and a
# second CA that signed nothing, in $1/tls (the key readable by the cluster's owner only).
make_certificates() {
  command -v openssl >/dev/null 2>&1 || die "PITWALL_PG_TLS=1 needs the openssl command"
  local tls="$1/tls"
  mkdir -p "$tls"
  (
    cd "$tls"
    for ca in ca other-ca; do
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pitwall test $ca" \
        -keyout "$ca.key" -out "$ca.pem" >/dev/null 2>&1
    done
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key \
      -out server.csr >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.pem >/dev/null 2>&1
  ) || die "cannot make the test certificates"
  chmod 600 "$tls/server.key"
  if [[ $(id -u) == 0 ]]; then chown -R "$PG_USER:" "$tls"; chmod 644 "$tls"/*.pem; fi
}

start() {
  if running; then
    say "already running"
    echo "export PITWALL_TEST_POSTGRES=$PITWALL_TEST_POSTGRES"
    return 0
  fi
  if [[ -f $ENV_FILE ]]; then
    say "removing a cluster that is no longer running"
    stop
  fi
  local bin
  bin=$(find_bin) || { install_postgres; bin=$(find_bin) || die "postgresql installed but no initdb found"; }

  if [[ $(id -u) == 0 ]] && ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER" \
      || die "cannot create user $PG_USER"
  fi

  mkdir -p "$(dirname "$ENV_FILE")"
  touch "$ENV_FILE" || die "cannot write $ENV_FILE"
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-pg.XXXXXX")
  chmod 700 "$dir"
  if [[ $(id -u) == 0 ]]; then chown "$PG_USER:" "$dir"; fi
  # Remembered before anything can fail, so `stop` cleans up after a half-done start.
  printf 'export PITWALL_PG_DIR=%q\nexport PITWALL_PG_BIN=%q\n' "$dir" "$bin" >"$ENV_FILE"

  cd "$dir"  # the owner may not be allowed into the caller's directory
  as_owner "$bin/initdb" -D "$dir/data" -U "$ROLE" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  as_owner mkdir "$dir/socket"
  # The password role first (pg_hba.conf takes the first line that matches), then trust.
  local hba="$dir/data/pg_hba.conf"
  as_owner bash -c "{ echo 'host all pitwall_password 127.0.0.1/32 scram-sha-256'; cat '$hba'; } >'$hba.new' && mv '$hba.new' '$hba'"
  local tls_options=""
  if [[ ${PITWALL_PG_TLS:-} == 1 ]]; then
    make_certificates "$dir"
    tls_options="-c ssl=on -c ssl_cert_file=$dir/tls/server.pem -c ssl_key_file=$dir/tls/server.key"
  fi

  # A free port: try a few random ones; the server itself is the judge of whether one is taken.
  local port attempt
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    if as_owner "$bin/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/socket -c max_connections=300 $tls_options" \
      >/dev/null; then
      break
    fi
    grep -q "could not bind\|already in use" "$dir/server.log" 2>/dev/null \
      || { cat "$dir/server.log" >&2; die "pg_ctl start failed"; }
    port=
  done
  [[ -n $port ]] || die "no free port found"
  cd - >/dev/null

  local url="postgres://$ROLE@127.0.0.1:$port/postgres"
  printf 'export PITWALL_PG_PORT=%q\nexport PITWALL_TEST_POSTGRES=%q\n' "$port" "$url" >>"$ENV_FILE"
  "$bin/psql" -q -h 127.0.0.1 -p "$port" -U "$ROLE" -d postgres \
    -c "CREATE ROLE pitwall_password LOGIN CREATEDB PASSWORD '$PASSWORD'" >/dev/null \
    || die "cannot create the role pitwall_password"
  printf 'export PITWALL_TEST_POSTGRES_PASSWORD=%q\n' "$PASSWORD" >>"$ENV_FILE"
  if [[ ${PITWALL_PG_TLS:-} == 1 ]]; then
    printf 'export PITWALL_TEST_POSTGRES_CA=%q\nexport PITWALL_TEST_POSTGRES_OTHER_CA=%q\n' \
      "$dir/tls/ca.pem" "$dir/tls/other-ca.pem" >>"$ENV_FILE"
  fi
  say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running in $dir"
  echo "export PITWALL_TEST_POSTGRES=$url"
}

# The postmaster of a data directory is gone, or a zombie nobody reaps (a container's PID 1 may
# not): a cluster that crashed, whose directory may simply be removed.
postmaster_dead() {
  local pid
  pid=$(head -1 "$1/postmaster.pid" 2>/dev/null) || return 0
  [[ ! -e /proc/$pid ]] || [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]
}

stop() {
  [[ -f $ENV_FILE ]] || { say "not running"; return 0; }
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  if [[ -n ${PITWALL_PG_DIR:-} && -d $PITWALL_PG_DIR ]]; then
    if [[ -d $PITWALL_PG_DIR/data ]] \
      && as_owner "$PITWALL_PG_BIN/pg_ctl" status -D "$PITWALL_PG_DIR/data" >/dev/null 2>&1; then
      (cd "$PITWALL_PG_DIR" \
        && as_owner "$PITWALL_PG_BIN/pg_ctl" stop -w -t 30 -m fast -D "$PITWALL_PG_DIR/data" >/dev/null) \
        || postmaster_dead "$PITWALL_PG_DIR/data" \
        || die "pg_ctl stop failed (cluster left in $PITWALL_PG_DIR)"
    fi
    rm -rf "$PITWALL_PG_DIR"
  fi
  rm -f "$ENV_FILE"
  say "stopped"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
