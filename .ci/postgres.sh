# shellcheck shell=bash
# .ci/postgres.sh -- start a throwaway PostgreSQL cluster for the test suite.
#
# SOURCE this file, don't execute it:   . .ci/postgres.sh
#
# On success it exports
#   PG_TEST_URL=postgresql://tradd@127.0.0.1:<port>/tradd_test
# and installs `trap tradd_pg_cleanup EXIT`, which stops the cluster and
# deletes its temp dir when the calling shell exits.
#
# The caller must NOT replace the EXIT trap afterwards (that would leak the
# cluster); if it needs its own EXIT trap it must call tradd_pg_cleanup from it
# (tradd_pg_cleanup is idempotent, so calling it twice is harmless).
#
# Return status: 0 on success, or when not root and PostgreSQL is not
# installed (tests will be skipped, PG_TEST_URL is left unset); 1 on any
# failure, with a message on stderr.  The file only ever `return`s, so it never
# exits the caller's shell; it is safe under `set -euo pipefail`.
#
# Targets Debian 12 running as root (CI).  As root the server runs as the
# `postgres` OS user; as non-root it runs as the current user.

_tradd_pg_err() { echo "postgres.sh: ERROR: $*" >&2; }

# Run a command as the OS user that owns the cluster, from a directory that
# user can read (initdb/pg_ctl complain if the cwd is e.g. /root).
_tradd_pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# Newest /usr/lib/postgresql/<ver>/bin directory that has initdb, or nothing.
_tradd_pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] && dirname "$d"
    return 0
}

# Stop the cluster and remove its temp dir.  Idempotent; never fails (it runs
# from the EXIT trap, where it must not change the shell's exit status).
tradd_pg_cleanup() {
    if [ -n "${_TRADD_PG_DIR:-}" ] && [ -d "$_TRADD_PG_DIR" ]; then
        if [ -f "$_TRADD_PG_DIR/data/postmaster.pid" ]; then
            _tradd_pg_as_owner "$_TRADD_PG_BIN/pg_ctl" -D "$_TRADD_PG_DIR/data" \
                -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        fi
        rm -rf "$_TRADD_PG_DIR" || true
    fi
    _TRADD_PG_DIR=
    return 0
}

_tradd_pg_setup() {
    local bindir tmp port

    # 1. Make sure the Debian PostgreSQL server is installed.
    bindir=$(_tradd_pg_bindir)
    if [ -z "$bindir" ]; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "postgres.sh: PostgreSQL is not installed and we are not root;" \
                 "PostgreSQL tests will be skipped." >&2
            return 0
        fi
        echo "postgres.sh: installing PostgreSQL server (apt-get install postgresql)..."
        if ! apt-get update -qq; then
            _tradd_pg_err "apt-get update failed"; return 1
        fi
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; then
            _tradd_pg_err "apt-get install postgresql failed"; return 1
        fi
        bindir=$(_tradd_pg_bindir)
        if [ -z "$bindir" ]; then
            _tradd_pg_err "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
            return 1
        fi
    fi

    # 2. Throwaway directory: data/ (cluster), postgres.log, unix socket.
    if ! tmp=$(mktemp -d "${TMPDIR:-/tmp}/tradd-pg.XXXXXX"); then
        _tradd_pg_err "mktemp -d failed"; return 1
    fi
    _TRADD_PG_DIR=$tmp
    _TRADD_PG_BIN=$bindir
    # Install the cleanup trap now, so a half-started cluster is cleaned too.
    trap tradd_pg_cleanup EXIT

    if [ "$(id -u)" -eq 0 ] && ! chown postgres: "$tmp"; then
        _tradd_pg_err "chown postgres $tmp failed"; tradd_pg_cleanup; return 1
    fi

    # 3. Pick a free TCP port on 127.0.0.1.
    if ! port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()') || [ -z "$port" ]; then
        _tradd_pg_err "could not find a free TCP port (python3 failed)"
        tradd_pg_cleanup; return 1
    fi

    # 4. initdb + start.  Trust auth, TCP on 127.0.0.1:<port> only, socket in
    #    the temp dir, durability off (throwaway data).
    echo "postgres.sh: starting throwaway PostgreSQL ($bindir) on 127.0.0.1:$port in $tmp"
    if ! _tradd_pg_as_owner "$bindir/initdb" -D "$tmp/data" -U postgres \
            -A trust -E UTF8 --locale=C >"$tmp/initdb.log" 2>&1; then
        _tradd_pg_err "initdb failed:"; cat "$tmp/initdb.log" >&2
        tradd_pg_cleanup; return 1
    fi
    if ! _tradd_pg_as_owner "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" \
            -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
        _tradd_pg_err "pg_ctl start failed; server log:"
        tail -n 30 "$tmp/postgres.log" >&2 2>/dev/null
        tradd_pg_cleanup; return 1
    fi

    # 5. Role + database for the tests.
    if ! "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
            -c "CREATE ROLE tradd LOGIN SUPERUSER" \
            -c "CREATE DATABASE tradd_test OWNER tradd" >/dev/null; then
        _tradd_pg_err "creating role tradd / database tradd_test failed"
        tradd_pg_cleanup; return 1
    fi

    export PG_TEST_URL="postgresql://tradd@127.0.0.1:$port/tradd_test"
    echo "postgres.sh: PG_TEST_URL=$PG_TEST_URL"
    return 0
}

# Refuse to be executed: `return` below only works when sourced.
if ! (return 0 2>/dev/null); then
    echo "postgres.sh: must be sourced (. .ci/postgres.sh), not executed" >&2
    exit 1
fi

# Calling the function in a `||` list keeps a failure from tripping the
# caller's `set -e` (every step above checks its own status explicitly).
_tradd_pg_setup || return 1
