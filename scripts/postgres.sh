#!/usr/bin/env bash
# Start a local PostgreSQL server for the test suite and print the URL of a fresh test database.
# Installs Debian's postgresql package when it is missing (needs root, as on CI and dev machines).
# Usage: scripts/postgres.sh start|stop
set -euo pipefail
action=${1:-start}
db=${ISLETBASE_PG_DB:-isletbase_test}
if [ "$action" = stop ]; then
  v=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
  [ -n "$v" ] && pg_ctlcluster "$v" main stop >/dev/null 2>&1 || true
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "installing postgresql (Debian package)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
v=$(ls /etc/postgresql | sort -n | tail -1)
pg_ctlcluster "$v" main start >/dev/null 2>&1 || pg_ctlcluster "$v" main status >/dev/null
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q" && break
  sleep 0.5
done
su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='isletbase'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role isletbase login password 'isletbase' superuser\"" >&2
su postgres -c "psql -qtAc \"select 1 from pg_database where datname='$db'\"" | grep -q 1 ||
  su postgres -c "createdb -O isletbase $db" >&2
su postgres -c "psql -q -d $db -c 'create extension if not exists pg_trgm'" >&2
echo "postgresql+psycopg://isletbase:isletbase@127.0.0.1:5432/$db"
