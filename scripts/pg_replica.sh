#!/usr/bin/env bash
# A real streaming replica of the local PostgreSQL primary (127.0.0.1:5432), for the router
# tests (DATABASE_REPLICA_URL). CI's PostgreSQL pass starts one on port 5433.
#
# Usage: scripts/pg_replica.sh start [PORT]   (PORT defaults to 5433)
#        scripts/pg_replica.sh stop
#        scripts/pg_replica.sh status
#
#   start   makes a physical standby with pg_basebackup (-R -X stream) in a fresh directory
#           under /var/tmp, starts it with the cluster version's pg_ctl as the postgres user,
#           listening on 127.0.0.1:PORT only, waits until it accepts connections in recovery,
#           and prints its directory and port. A standby started earlier by this script is
#           stopped first. Adds "host replication all 127.0.0.1/32 trust" to the primary's
#           pg_hba.conf (and reloads it) when no such line exists.
#   stop    stops the standby (fast) and removes its directory; does nothing if none runs.
#   status  says whether the standby runs and how far its replay lags behind the primary
#           (exit status 3 when it does not run).
#
# Runs as root (the server itself runs as postgres, through runuser) or as postgres. The
# PostgreSQL version is the newest in /etc/postgresql, as in .ci/run. The running standby is
# recorded in PG_REPLICA_STATE (default /var/tmp/pg_replica.state) so that stop finds it.
# Connect to it with: psql -h 127.0.0.1 -p PORT -U postgres DBNAME
set -euo pipefail

PRIMARY_HOST=127.0.0.1
PRIMARY_PORT=5432
PG_SUPERUSER=postgres
DEFAULT_PORT=5433
STATE_FILE=${PG_REPLICA_STATE:-/var/tmp/pg_replica.state}
BASE_PREFIX=/var/tmp/pg_replica.
HBA_LINE="host replication all 127.0.0.1/32 trust"

prog=$(basename "$0")
note() { printf '%s: %s\n' "$prog" "$*"; }
die() {
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit 1
}
usage() {
    sed -n '5,7s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

# Run a command as the postgres user (pg_ctl refuses to run as root).
as_pg() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    else
        runuser -u postgres -- "$@"
    fi
}

# The newest PostgreSQL version with a cluster configuration, found as .ci/run finds it.
pg_version() {
    find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null |
        sort -V | tail -n 1
}
set_bin() { # set_bin VERSION
    BIN=/usr/lib/postgresql/$1/bin
    if [ ! -x "$BIN/pg_ctl" ] || [ ! -x "$BIN/pg_basebackup" ]; then
        die "no pg_ctl/pg_basebackup in $BIN (install postgresql-$1)"
    fi
}

psql_at() { # psql_at PORT [psql args...]
    local port=$1
    shift
    "$BIN/psql" -X -q -w -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$PG_SUPERUSER" \
        -d postgres "$@"
}
psql_primary() {
    "$BIN/psql" -X -q -w -v ON_ERROR_STOP=1 -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" \
        -U "$PG_SUPERUSER" -d postgres "$@"
}

# wait_for SECONDS COMMAND...: retry COMMAND once a second until it succeeds or time runs out.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 1
    done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
standby_in_recovery() { # standby_in_recovery PORT
    [ "$(psql_at "$1" -tAc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]
}
replication_allowed() {
    "$BIN/psql" -X -q -w "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$PG_SUPERUSER replication=true" \
        -c IDENTIFY_SYSTEM >/dev/null 2>&1
}

# State file: DIR=, PORT=, VERSION= lines, read without sourcing it.
STATE_DIR="" STATE_PORT="" STATE_VERSION=""
read_state() {
    STATE_DIR="" STATE_PORT="" STATE_VERSION=""
    [ -f "$STATE_FILE" ] || return 1
    local key value
    while IFS='=' read -r key value; do
        case $key in
        DIR) STATE_DIR=$value ;;
        PORT) STATE_PORT=$value ;;
        VERSION) STATE_VERSION=$value ;;
        esac
    done <"$STATE_FILE"
    [[ $STATE_DIR == "$BASE_PREFIX"* && $STATE_DIR != *..* ]] ||
        die "$STATE_FILE names an unexpected directory '$STATE_DIR'; remove it by hand"
    [[ $STATE_PORT =~ ^[0-9]+$ ]] || die "$STATE_FILE has no valid PORT; remove it by hand"
    [ -n "$STATE_VERSION" ] || STATE_VERSION=$(pg_version)
}
write_state() { # write_state DIR PORT VERSION
    printf 'DIR=%s\nPORT=%s\nVERSION=%s\n' "$1" "$2" "$3" >"$STATE_FILE.tmp"
    mv -f "$STATE_FILE.tmp" "$STATE_FILE"
}

# Append the replication line to the primary's pg_hba.conf unless it is there, then reload.
ensure_replication_hba() {
    local hba
    hba=$(psql_primary -tAc 'SHOW hba_file') || die "cannot ask the primary for its hba_file"
    [ -f "$hba" ] || die "the primary's hba_file $hba does not exist"
    if grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust([[:space:]]|$)' "$hba"; then
        note "$hba already allows replication from 127.0.0.1"
    else
        note "adding '$HBA_LINE' to $hba and reloading the primary"
        # Keep the new line on a line of its own even if the file lacks a final newline.
        if [ -s "$hba" ] && [ -n "$(tail -c 1 "$hba")" ]; then printf '\n' >>"$hba"; fi
        printf '%s\n' "$HBA_LINE" >>"$hba"
        psql_primary -tAc 'SELECT pg_reload_conf()' >/dev/null
    fi
    wait_for 10 replication_allowed ||
        die "the primary on $PRIMARY_HOST:$PRIMARY_PORT refuses replication connections as" \
            "$PG_SUPERUSER; an earlier line in $hba may reject them"
}

cmd_stop() {
    if ! read_state; then
        note "no standby recorded in $STATE_FILE; nothing to stop"
        return 0
    fi
    set_bin "$STATE_VERSION"
    local data=$STATE_DIR/data
    if [ -f "$data/postmaster.pid" ]; then
        note "stopping the standby on port $STATE_PORT ($STATE_DIR)"
        if ! as_pg "$BIN/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null; then
            note "fast shutdown failed; trying immediate"
            as_pg "$BIN/pg_ctl" stop -D "$data" -m immediate -w -t 30 >/dev/null ||
                die "could not stop the standby in $data; its directory is kept"
        fi
    fi
    rm -rf -- "$STATE_DIR"
    rm -f -- "$STATE_FILE"
    note "standby stopped and $STATE_DIR removed"
}

cmd_status() {
    if ! read_state; then
        note "not running (no standby recorded in $STATE_FILE)"
        return 3
    fi
    set_bin "$STATE_VERSION"
    if ! as_pg "$BIN/pg_ctl" status -D "$STATE_DIR/data" >/dev/null 2>&1; then
        note "not running (recorded on port $STATE_PORT in $STATE_DIR; '$prog stop' cleans up)"
        return 3
    fi
    local row recovery replay receive paused
    row=$(psql_at "$STATE_PORT" -tA -F ' ' -c "SELECT pg_is_in_recovery(),
        coalesce(pg_last_wal_replay_lsn()::text, '-'), coalesce(pg_last_wal_receive_lsn()::text, '-'),
        pg_get_wal_replay_pause_state()") || die "the standby on port $STATE_PORT does not answer"
    read -r recovery replay receive paused <<<"$row"
    note "running on 127.0.0.1:$STATE_PORT, directory $STATE_DIR, in recovery: $recovery," \
        "replay: $paused"
    if [ "$replay" = - ]; then
        note "replay lag: unknown (nothing replayed yet)"
        return 0
    fi
    local primary_row current lag
    primary_row=$(psql_primary -tA -F ' ' -c \
        "SELECT pg_current_wal_lsn(), pg_wal_lsn_diff(pg_current_wal_lsn(), '$replay')") ||
        die "the primary on $PRIMARY_HOST:$PRIMARY_PORT does not answer"
    read -r current lag <<<"$primary_row"
    note "replay lag: $lag bytes (primary at $current, standby received $receive, replayed $replay)"
}

cmd_start() {
    local port=${1:-$DEFAULT_PORT}
    if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1024 ] || [ "$port" -gt 65535 ]; then
        die "PORT must be a number from 1024 to 65535, not '$port'"
    fi
    [ "$port" -ne "$PRIMARY_PORT" ] || die "PORT must differ from the primary's ($PRIMARY_PORT)"

    if [ -f "$STATE_FILE" ]; then
        note "a standby from an earlier start is recorded in $STATE_FILE; stopping it first"
        cmd_stop
    fi
    local version
    version=$(pg_version)
    [ -n "$version" ] || die "no PostgreSQL cluster configuration in /etc/postgresql"
    set_bin "$version"
    ! port_in_use "$port" || die "something else already listens on 127.0.0.1:$port"
    "$BIN/pg_isready" -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" ||
        die "the primary is not accepting connections on $PRIMARY_HOST:$PRIMARY_PORT"
    [ "$(psql_primary -tAc 'SELECT pg_is_in_recovery()')" = f ] ||
        die "the server on $PRIMARY_HOST:$PRIMARY_PORT is itself a standby"
    ensure_replication_hba

    local base
    base=$(as_pg mktemp -d "${BASE_PREFIX}XXXXXX")
    START_BASE=$base
    trap start_failed EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    write_state "$base" "$port" "$version"

    local data=$base/data log=$base/postgresql.log
    note "copying the primary with pg_basebackup into $data"
    as_pg "$BIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_SUPERUSER" -w \
        -D "$data" -R -X stream -c fast
    # Debian keeps a cluster's configuration in /etc, so the copy has none of its own. A hot
    # standby needs these limits at least as high as the primary's.
    local limits
    limits=$(psql_primary -tA -F ' = ' -c "SELECT name, setting FROM pg_settings WHERE name IN
        ('max_connections', 'max_prepared_transactions', 'max_locks_per_transaction',
         'max_wal_senders', 'max_worker_processes') ORDER BY name")
    as_pg tee "$data/postgresql.conf" >/dev/null <<EOF
# Streaming standby made by scripts/pg_replica.sh; primary_conninfo is in postgresql.auto.conf.
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$base'
hot_standby = on
cluster_name = 'pg_replica_$port'
$limits
EOF
    as_pg tee "$data/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
    as_pg touch "$data/pg_ident.conf"

    note "starting the standby on 127.0.0.1:$port (log: $log)"
    # Also on the command line, which wins over an ALTER SYSTEM copied from the primary.
    as_pg "$BIN/pg_ctl" start -D "$data" -l "$log" -w -t 60 \
        -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$base" >/dev/null
    wait_for 60 standby_in_recovery "$port" ||
        die "the standby on port $port did not come up in recovery within 60 s"

    trap - EXIT INT TERM
    note "standby of $PRIMARY_HOST:$PRIMARY_PORT running in recovery"
    printf 'directory: %s\nport: %s\n' "$base" "$port"
}

# EXIT trap while starting: show the log, stop what was started and remove it all.
start_failed() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    [ "$status" -ne 0 ] || status=1
    printf '%s: start failed; cleaning up\n' "$prog" >&2
    if [ -s "$START_BASE/postgresql.log" ]; then
        printf '%s: last lines of %s:\n' "$prog" "$START_BASE/postgresql.log" >&2
        tail -n 20 "$START_BASE/postgresql.log" >&2
    fi
    if [ -f "$START_BASE/data/postmaster.pid" ]; then
        as_pg "$BIN/pg_ctl" stop -D "$START_BASE/data" -m immediate -w -t 30 >/dev/null 2>&1
    fi
    rm -rf -- "$START_BASE"
    rm -f -- "$STATE_FILE"
    exit "$status"
}

[ "$(id -u)" -eq 0 ] || [ "$(id -un)" = postgres ] ||
    die "run as root (sudo $0 ...) or as the postgres user"
command -v runuser >/dev/null 2>&1 || [ "$(id -un)" = postgres ] || die "runuser is missing"

case ${1:-} in
start)
    [ "$#" -le 2 ] || usage
    cmd_start "${2:-}"
    ;;
stop)
    [ "$#" -eq 1 ] || usage
    cmd_stop
    ;;
status)
    [ "$#" -eq 1 ] || usage
    cmd_status
    ;;
*) usage ;;
esac
