#!/usr/bin/env bash
# Test servers for the backend stores, on 127.0.0.1 and non-default ports:
#   Redis           127.0.0.1:6390
#   Redis Cluster   127.0.0.1:7101-7103 (3 masters, no replicas)
#   PostgreSQL      127.0.0.1:5439, database effect_session_test
#   MariaDB         127.0.0.1:3316, database effect_session_test (the SQL store's MySQL dialect)
#
# Usage: scripts/services.sh start|stop|status|env
#   start   install redis-server / postgresql / mariadb-server from Debian if missing, start what is not running (idempotent)
#   stop    stop every server this script started (by recorded pid) and delete its state
#   status  show what is running
#   env     print `export` lines for the tests: eval "$(scripts/services.sh env)"
# `npm test` runs `start` before the tests and `stop` after them (test/globalSetup.ts), unless the
# variables `env` prints are already set.
# Environment: SERVICES_REDIS_PORT, SERVICES_CLUSTER_PORTS ("7101 7102 7103"), SERVICES_PG_PORT,
# SERVICES_MARIADB_PORT move the ports.
#
# State (data dirs, logs, pid files) lives in .tmp/services (gitignored). When run as root, PostgreSQL
# runs as the `postgres` system user (it refuses to run as root); if that user cannot reach the
# repository, its data dir goes to a private temp dir whose path is recorded in .tmp/services.
# MariaDB likewise runs as the `mysql` system user when run as root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.tmp/services"

# Ports can be moved (e.g. to run a second checkout's servers beside the first one's).
REDIS_PORT="${SERVICES_REDIS_PORT:-6390}"
read -r -a CLUSTER_PORTS <<<"${SERVICES_CLUSTER_PORTS:-7101 7102 7103}"
PG_PORT="${SERVICES_PG_PORT:-5439}"
PG_DB=effect_session_test
PG_USER=effect_session
PG_PASSWORD=effect_session
MARIADB_PORT="${SERVICES_MARIADB_PORT:-3316}"
MARIADB_DB=effect_session_test
MARIADB_USER=effect_session
MARIADB_PASSWORD=effect_session

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

print_env() {
  local nodes="" p
  for p in "${CLUSTER_PORTS[@]}"; do nodes="${nodes:+$nodes,}127.0.0.1:$p"; done
  echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  echo "export REDIS_CLUSTER_NODES=$nodes"
  echo "export DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
  print_mariadb_env
}

is_root() { [ "$(id -u)" = 0 ]; }

# true when something accepts TCP connections on 127.0.0.1:$1
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# true when process $1 exists and is not a zombie (an exited daemon whose parent is init stays a
# zombie until init reaps it, and kill -0 still succeeds on it)
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1 || true)"
  [ "$state" != Z ]
}

# pid recorded in file $1, if that process is alive
live_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid="$(head -n1 "$1" | tr -d '[:space:]')"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && echo "$pid"
}

# wait_until SECONDS COMMAND...: retry COMMAND every 0.2 s until it succeeds
wait_until() {
  local secs="$1" i
  shift
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

# kill the process recorded in pid file $1 (TERM, then KILL after 10 s)
kill_pidfile() {
  local pid i
  pid="$(live_pid "$1")" || return 0
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.2
  done
  log "pid $pid did not stop after TERM, sending KILL"
  kill -9 "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- install

# A PostgreSQL bin dir whose pg_ctl actually runs. Debian keeps them in /usr/lib/postgresql/<ver>/bin;
# a pg_ctl on PATH (e.g. /usr/local/bin) may be a symlink into one, or a stale one.
pg_bindir() {
  local d candidates=()
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do candidates+=("$d"); done
  if command -v pg_ctl >/dev/null 2>&1; then candidates+=("$(dirname "$(readlink -f "$(command -v pg_ctl)")")"); fi
  for d in "${candidates[@]}"; do
    if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && "$d/pg_ctl" --version >/dev/null 2>&1; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

ensure_installed() {
  local pkgs=()
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || pkgs+=(redis-server redis-tools)
  pg_bindir >/dev/null || pkgs+=(postgresql)
  mariadb_installed || pkgs+=(mariadb-server)
  [ ${#pkgs[@]} -eq 0 ] && return 0

  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null 2>&1 || die "missing ${pkgs[*]}; install them (apt-get install ${pkgs[*]}) or run as root"
    sudo=(sudo)
  fi
  log "installing ${pkgs[*]} from apt"
  # keep the packages' own services (default ports) from starting: we run our own instances
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"
    made_policy=1
  fi
  local rc=0
  { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"; } >&2 || rc=$?
  [ -n "$made_policy" ] && "${sudo[@]}" rm -f "$policy"
  [ "$rc" = 0 ] || die "apt-get install ${pkgs[*]} failed"
  command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after install"
  pg_bindir >/dev/null || die "no working PostgreSQL (pg_ctl/initdb) after install"
  mariadb_installed || die "no working MariaDB (mariadbd/mariadb-install-db/mariadb) after install"
}

# ---------------------------------------------------------------- redis

redis_up() { # port
  [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

# start one redis-server (daemonized) in $STATE/redis-<port>; extra args are passed to redis-server
start_redis() {
  local port="$1" dir="$STATE/redis-$1"
  shift
  if live_pid "$dir/redis.pid" >/dev/null && redis_up "$port"; then
    log "redis $port already running"
    return 0
  fi
  kill_pidfile "$dir/redis.pid"
  rm -rf "$dir"
  port_open "$port" && die "port $port is in use by a process this script did not start"
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --save "" --appendonly no "$@"
  wait_until 20 redis_up "$port" || { tail -n 20 "$dir/redis.log" >&2; die "redis $port did not answer"; }
  wait_until 5 live_pid "$dir/redis.pid" || die "redis $port wrote no pid file"
  log "redis $port up (pid $(live_pid "$dir/redis.pid"))"
}

cluster_ok() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

cluster_running() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    live_pid "$STATE/redis-$p/redis.pid" >/dev/null && redis_up "$p" || return 1
  done
}

start_cluster() {
  local p
  if cluster_running && cluster_ok; then
    log "redis cluster ${CLUSTER_PORTS[*]} already running"
    return 0
  fi
  # anything half-made is thrown away and the cluster made anew
  for p in "${CLUSTER_PORTS[@]}"; do
    kill_pidfile "$STATE/redis-$p/redis.pid"
    rm -rf "$STATE/redis-$p"
  done
  for p in "${CLUSTER_PORTS[@]}"; do
    start_redis "$p" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000
  done
  local nodes=()
  for p in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$STATE/cluster-create.log" 2>&1 ||
    { cat "$STATE/cluster-create.log" >&2; die "redis-cli --cluster create failed"; }
  wait_until 30 cluster_ok || die "redis cluster did not reach cluster_state:ok"
  log "redis cluster ${CLUSTER_PORTS[*]} up (cluster_state:ok)"
}

# ---------------------------------------------------------------- postgres

# run a command as the PostgreSQL OS user (postgres when we are root, else ourselves)
as_pg() {
  # from / : the postgres user may not be allowed into the current directory
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_up() {
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -d postgres 2>/dev/null ||
    "$(pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres
}

pg_datadir() { # recorded data dir, or the default one
  if [ -s "$STATE/postgres.datadir" ]; then cat "$STATE/postgres.datadir"; else echo "$STATE/postgres"; fi
}

psql_pg() {
  local bin
  bin="$(pg_bindir)"
  as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

start_postgres() {
  local bin data
  bin="$(pg_bindir)"
  data="$(pg_datadir)"
  if live_pid "$STATE/postgres.pid" >/dev/null && pg_up; then
    log "postgres $PG_PORT already running"
    return 0
  fi
  stop_postgres
  port_open "$PG_PORT" && die "port $PG_PORT is in use by a process this script did not start"

  if is_root; then
    getent passwd postgres >/dev/null ||
      useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    data="$STATE/postgres"
    mkdir -p "$data"
    chown postgres: "$data"
    chmod 700 "$data"
    if ! runuser -u postgres -- test -w "$data"; then
      # a parent of the repository is closed to other users (e.g. a clone under /root)
      rm -rf "$data"
      data="$(mktemp -d /tmp/effect-session-pg.XXXXXX)"
      chown postgres: "$data"
      chmod 700 "$data"
    fi
  else
    data="$STATE/postgres"
    mkdir -p "$data"
    chmod 700 "$data"
  fi
  echo "$data" >"$STATE/postgres.datadir"

  as_pg "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=trust >"$STATE/postgres-initdb.log" 2>&1 ||
    { cat "$STATE/postgres-initdb.log" >&2; die "initdb failed"; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PG_PORT"
    echo "unix_socket_directories = ''" # TCP only: no socket path length limit, no /var/run needed
    echo "fsync = off"                  # test data only
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "max_connections = 200"
  } >>"$data/postgresql.conf"

  # pg_ctl's log must be writable by the postgres user: keep it in the data dir
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null ||
    { tail -n 30 "$data/server.log" >&2 || true; die "postgres did not start"; }
  head -n1 "$data/postmaster.pid" >"$STATE/postgres.pid"
  wait_until 30 pg_up || die "postgres $PG_PORT did not answer pg_isready"

  psql_pg -c "CREATE ROLE $PG_USER LOGIN PASSWORD '$PG_PASSWORD' SUPERUSER" >/dev/null
  psql_pg -c "CREATE DATABASE $PG_DB OWNER $PG_USER" >/dev/null
  log "postgres $PG_PORT up (pid $(live_pid "$STATE/postgres.pid"), data $data)"
}

stop_postgres() {
  local data bin
  data="$(pg_datadir)"
  if live_pid "$STATE/postgres.pid" >/dev/null; then
    if bin="$(pg_bindir)" && [ -f "$data/postmaster.pid" ]; then
      as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    kill_pidfile "$STATE/postgres.pid" # whatever pg_ctl left
  fi
  rm -rf "$STATE/postgres" "$STATE/postgres.pid" "$STATE/postgres.datadir" "$STATE/postgres-initdb.log"
  case "$data" in /tmp/effect-session-pg.*) rm -rf "$data" ;; esac
}

# ---------------------------------------------------------------- mariadb

print_mariadb_env() {
  echo "export MYSQL_URL=mysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/$MARIADB_DB"
}

# mariadb-server from Debian: the server, its data dir initializer, the client and mariadb-admin
mariadb_installed() {
  local bin
  for bin in mariadbd mariadb-install-db mariadb mariadb-admin; do
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || return 1
  done
}

mariadb_bin() { # name: the binary on PATH, or Debian's /usr/sbin one (not on a non-root PATH)
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"; else echo "/usr/sbin/$1"; fi
}

mariadb_datadir() { # recorded data dir, or the default one
  if [ -s "$STATE/mariadb.datadir" ]; then cat "$STATE/mariadb.datadir"; else echo "$STATE/mariadb"; fi
}

# The server's admin account is reached over its socket (unix_socket authentication): root when we are
# root, else the OS user that ran mariadb-install-db.
mariadb_admin() {
  "$(mariadb_bin mariadb-admin)" --no-defaults -S "$(mariadb_datadir)/mariadb.sock" -u "$(id -un)" "$@"
}

mariadb_admin_sql() {
  "$(mariadb_bin mariadb)" --no-defaults -S "$(mariadb_datadir)/mariadb.sock" -u "$(id -un)" -e "$1"
}

# the server answers on its socket and listens on its TCP port
mariadb_up() {
  port_open "$MARIADB_PORT" && mariadb_admin --connect-timeout=2 ping >/dev/null 2>&1
}

start_mariadb() {
  local data log
  if live_pid "$STATE/mariadb.pid" >/dev/null && mariadb_up; then
    log "mariadb $MARIADB_PORT already running"
    return 0
  fi
  stop_mariadb
  port_open "$MARIADB_PORT" && die "port $MARIADB_PORT is in use by a process this script did not start"

  local user
  user="$(id -un)"
  data="$STATE/mariadb"
  mkdir -p "$data"
  chmod 700 "$data"
  if is_root; then
    user=mysql
    getent passwd mysql >/dev/null ||
      useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mysql
    chown mysql: "$data"
  fi
  # the socket lives in the data dir. A private temp dir instead when the mysql user cannot reach the
  # repository (a parent closed to other users, e.g. a clone under /root) or when the path is too long
  # for a unix socket (at most 107 bytes)
  if [ "${#data}" -gt 80 ] || { is_root && ! runuser -u mysql -- test -w "$data"; }; then
    rm -rf "$data"
    data="$(mktemp -d /tmp/effect-session-mariadb.XXXXXX)"
    chmod 700 "$data"
    if is_root; then chown mysql: "$data"; fi
  fi
  echo "$data" >"$STATE/mariadb.datadir"

  # the admin account is root (unix_socket) and, when not root, the OS user running this script
  log="$STATE/mariadb-install-db.log"
  (cd / && "$(mariadb_bin mariadb-install-db)" --no-defaults --datadir="$data" --user="$user" \
    --auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" \
    --skip-test-db --skip-name-resolve >"$log" 2>&1) ||
    { cat "$log" >&2; die "mariadb-install-db failed"; }

  # mariadbd stays in the foreground: run it in its own session, detached from this script, with none
  # of this script's file descriptors (a caller reading our output through a pipe must see it close)
  local args=(
    --no-defaults --datadir="$data" --socket="$data/mariadb.sock" --pid-file="$data/mariadb.pid"
    --log-error="$data/error.log" --bind-address=127.0.0.1 --port="$MARIADB_PORT"
    --skip-name-resolve --character-set-server=utf8mb4 --collation-server=utf8mb4_bin
    --max-connections=100 --performance-schema=OFF --skip-log-bin
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 # test data only
  )
  is_root && args+=(--user=mysql)
  # (the subshell execs setsid, which execs mariadbd without forking: a background job of this script
  # is no process group leader. So $! is mariadbd's pid, recorded at once so that `stop` finds it even
  # when the start fails.)
  local bin
  bin="$(mariadb_bin mariadbd)"
  (cd / && exec setsid "$bin" "${args[@]}" </dev/null >"$STATE/mariadb.out" 2>&1) &
  echo $! >"$STATE/mariadb.pid"
  if ! wait_until 60 mariadb_up || ! wait_until 10 test -s "$data/mariadb.pid"; then
    tail -n 30 "$STATE/mariadb.out" "$data/error.log" >&2 2>/dev/null || true
    die "mariadb $MARIADB_PORT did not start"
  fi
  head -n1 "$data/mariadb.pid" >"$STATE/mariadb.pid"

  mariadb_admin_sql "CREATE DATABASE IF NOT EXISTS $MARIADB_DB CHARACTER SET utf8mb4;
    CREATE USER IF NOT EXISTS '$MARIADB_USER'@'%' IDENTIFIED BY '$MARIADB_PASSWORD';
    GRANT ALL PRIVILEGES ON $MARIADB_DB.* TO '$MARIADB_USER'@'%';" ||
    die "mariadb: could not create the test database and user"
  log "mariadb $MARIADB_PORT up (pid $(live_pid "$STATE/mariadb.pid"), data $data)"
}

stop_mariadb() {
  local data
  data="$(mariadb_datadir)"
  kill_pidfile "$STATE/mariadb.pid" # TERM is mariadbd's clean shutdown
  rm -rf "$STATE/mariadb" "$STATE/mariadb.pid" "$STATE/mariadb.datadir" "$STATE/mariadb.out" \
    "$STATE/mariadb-install-db.log"
  case "$data" in /tmp/effect-session-mariadb.*) rm -rf "$data" ;; esac
}

status_mariadb() {
  local pid
  if pid="$(live_pid "$STATE/mariadb.pid")" && mariadb_up; then
    echo "mariadb $MARIADB_PORT: up (pid $pid)"
  else
    echo "mariadb $MARIADB_PORT: down"
    return 1
  fi
}

# ---------------------------------------------------------------- commands

cmd_start() {
  ensure_installed
  mkdir -p "$STATE"
  start_redis "$REDIS_PORT"
  start_cluster
  start_postgres
  start_mariadb
  log "all services up"
}

cmd_stop() {
  local p pid
  [ -d "$STATE" ] || { log "nothing to stop"; return 0; }
  for p in "$REDIS_PORT" "${CLUSTER_PORTS[@]}"; do
    if pid="$(live_pid "$STATE/redis-$p/redis.pid")"; then log "stopping redis $p (pid $pid)"; fi
    kill_pidfile "$STATE/redis-$p/redis.pid"
    rm -rf "$STATE/redis-$p"
  done
  if pid="$(live_pid "$STATE/postgres.pid")"; then log "stopping postgres $PG_PORT (pid $pid)"; fi
  stop_postgres
  if pid="$(live_pid "$STATE/mariadb.pid")"; then log "stopping mariadb $MARIADB_PORT (pid $pid)"; fi
  stop_mariadb
  rm -rf "$STATE"
  log "stopped"
}

cmd_status() {
  local p pid rc=0
  for p in "$REDIS_PORT" "${CLUSTER_PORTS[@]}"; do
    if pid="$(live_pid "$STATE/redis-$p/redis.pid")" && redis_up "$p"; then
      echo "redis $p: up (pid $pid)"
    else
      echo "redis $p: down"
      rc=1
    fi
  done
  if cluster_ok; then echo "redis cluster: cluster_state:ok"; else echo "redis cluster: not ok"; rc=1; fi
  if pid="$(live_pid "$STATE/postgres.pid")" && pg_up; then
    echo "postgres $PG_PORT: up (pid $pid)"
  else
    echo "postgres $PG_PORT: down"
    rc=1
  fi
  status_mariadb || rc=1
  return "$rc"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) print_env ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
