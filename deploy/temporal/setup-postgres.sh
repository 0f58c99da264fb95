#!/bin/sh
# Creates Temporal's two PostgreSQL databases (history and visibility) and brings their schemas to the
# version this admin-tools image ships, the way Temporal documents it for the temporalio/server image
# (temporal-sql-tool: create, setup-schema -v 0.0, update-schema). Every step is idempotent, so the
# one-shot service can run on every `docker-compose up`; after an image upgrade it migrates in place.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
PORT=${DB_PORT:-5432}
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$PORT"
until nc -z "$POSTGRES_SEEDS" "$PORT"; do sleep 1; done

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"
}

for db in temporal:temporal temporal_visibility:visibility; do
  name=${db%%:*}
  schema=${db##*:}
  echo "database $name: create (if missing), set up, update to the latest schema"
  sql --db "$name" create
  sql --db "$name" setup-schema -v 0.0
  sql --db "$name" update-schema -d "$SCHEMA_ROOT/$schema/versioned"
done
echo "Temporal schema is up to date"
