#!/usr/bin/env bash
# Brings up the PostgreSQL server that the examples/postgres crate tests against, the way a test
# container would: idempotent, and safe when several test binaries call it at once (a lock file).
#
#   bash ci/postgres.sh            start the server (installing PostgreSQL 15 if absent), create the
#                                  role and the database of ANYSCOPE_PG_URL, wait until it answers
#   bash ci/postgres.sh restart    restart the server (the restart case of the tests uses it)
#
# ANYSCOPE_PG_URL defaults to postgres://anyscope:anyscope@127.0.0.1:5432/anyscope. Only a server on
# this machine (127.0.0.1, localhost or ::1) can be brought up; for any other address, provide the
# server yourself. Needs root or the postgres user (pg_ctlcluster, runuser).
set -euo pipefail

URL="${ANYSCOPE_PG_URL:-postgres://anyscope:anyscope@127.0.0.1:5432/anyscope}"
VERSION="${ANYSCOPE_PG_VERSION:-15}"
CLUSTER="${ANYSCOPE_PG_CLUSTER:-main}"
LOCK="${ANYSCOPE_PG_LOCK:-${TMPDIR:-/tmp}/anyscope-postgres.lock}"
# Enough backends for the test binaries' pools, the soak's pool and a benchmark at once.
MAX_CONNECTIONS=300

fail() {
    echo "ci/postgres.sh: $*" >&2
    echo "ci/postgres.sh: provide a server yourself and point ANYSCOPE_PG_URL at it" \
        "(postgres://USER:PASSWORD@HOST:PORT/DB; the user needs CREATE on the database)." >&2
    exit 1
}

# postgres://user:password@host:port/db
re='^postgres(ql)?://([^:@/]+):([^@/]*)@([^:/]+|\[[^]]+\]):?([0-9]*)/([^?]+)'
[[ "$URL" =~ $re ]] || fail "cannot parse ANYSCOPE_PG_URL='$URL'"
PGUSER_="${BASH_REMATCH[2]}"
PGPASS_="${BASH_REMATCH[3]}"
PGHOST_="${BASH_REMATCH[4]}"
PGPORT_="${BASH_REMATCH[5]:-5432}"
PGDB_="${BASH_REMATCH[6]}"
case "$PGHOST_" in
127.0.0.1 | localhost | ::1 | '[::1]') ;;
*) fail "ANYSCOPE_PG_URL names host '$PGHOST_', not this machine: nothing to bring up here" ;;
esac
case "$PGUSER_$PGDB_" in
*[!A-Za-z0-9_]*) fail "role and database names must be [A-Za-z0-9_] (got '$PGUSER_', '$PGDB_')" ;;
esac

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    elif [ "$(id -un)" = postgres ]; then
        "$@"
    else
        fail "run as root or as the postgres user to bring the server up"
    fi
}

psql_admin() {
    PGOPTIONS="-c client_min_messages=warning" as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PGPORT_" -d postgres "$@"
}

install_server() {
    command -v pg_ctlcluster >/dev/null 2>&1 && [ -d "/usr/lib/postgresql/$VERSION" ] && return 0
    [ "$(id -u)" = 0 ] || fail "PostgreSQL $VERSION is not installed and we are not root to install it"
    echo "ci/postgres.sh: installing PostgreSQL (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || fail "apt-get update failed"
    apt-get install -y -qq postgresql >/dev/null || fail "apt-get install postgresql failed"
    [ -d "/usr/lib/postgresql/$VERSION" ] || VERSION="$(ls /usr/lib/postgresql | sort -n | tail -1)"
    pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {f=1} END {exit !f}' ||
        pg_createcluster "$VERSION" "$CLUSTER" >/dev/null || fail "pg_createcluster failed"
}

wait_ready() {
    local i
    for i in $(seq 1 120); do
        if pg_isready -q -h 127.0.0.1 -p "$PGPORT_"; then
            return 0
        fi
        sleep 0.5
    done
    fail "the server at 127.0.0.1:$PGPORT_ did not answer within 60 s (see /var/log/postgresql/)"
}

start() {
    install_server
    if ! pg_isready -q -h 127.0.0.1 -p "$PGPORT_"; then
        pg_ctlcluster "$VERSION" "$CLUSTER" start 9>&- 2>/dev/null ||
            pg_isready -q -h 127.0.0.1 -p "$PGPORT_" ||
            fail "pg_ctlcluster $VERSION $CLUSTER start failed (see /var/log/postgresql/)"
    fi
    wait_ready
    local max
    max="$(psql_admin -At -c 'SHOW max_connections')"
    if [ "$max" -lt "$MAX_CONNECTIONS" ]; then
        psql_admin -c "ALTER SYSTEM SET max_connections = $MAX_CONNECTIONS"
        pg_ctlcluster "$VERSION" "$CLUSTER" restart 9>&- || fail "restart after raising max_connections failed"
        wait_ready
    fi
    local pass="${PGPASS_//\'/\'\'}"
    psql_admin <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PGUSER_') THEN
        CREATE ROLE $PGUSER_ LOGIN PASSWORD '$pass';
    ELSE
        ALTER ROLE $PGUSER_ LOGIN PASSWORD '$pass';
    END IF;
END
\$\$;
SQL
    if [ "$(psql_admin -At -c "SELECT 1 FROM pg_database WHERE datname = '$PGDB_'")" != 1 ]; then
        psql_admin -c "CREATE DATABASE $PGDB_ OWNER $PGUSER_"
    fi
    # pg_stat_activity shows other roles' queries to members of pg_read_all_stats; the tests
    # count backends and read their state there. pg_signal_backend lets them end their own.
    psql_admin -c "GRANT pg_read_all_stats, pg_signal_backend TO $PGUSER_"
    echo "ci/postgres.sh: PostgreSQL $VERSION ready at $PGHOST_:$PGPORT_, database $PGDB_, role $PGUSER_"
}

restart() {
    install_server
    pg_ctlcluster "$VERSION" "$CLUSTER" restart -m fast 9>&- || fail "pg_ctlcluster $VERSION $CLUSTER restart failed"
    wait_ready
}

cmd="${1:-start}"
exec 9>"$LOCK"
flock -w 900 9 || fail "waited 900 s for the lock $LOCK (an install or start elsewhere did not finish)"
case "$cmd" in
start) start ;;
restart) restart ;;
*) fail "unknown command '$cmd' (start or restart)" ;;
esac
