#!/bin/bash
# InfluxDB 2.x, first start: the influxdb image runs /docker-entrypoint-initdb.d/*.sh once, after its setup
# mode has created the org, the admin token and the bucket fleet_raw (deploy/docker-compose.yml). The server
# reads and writes through the v1 API by database name, so this script makes
#   - the buckets fleet_1m and fleet_1h (the roll-up tiers, with their own retention),
#   - a DBRP mapping <name>/autogen → bucket <name> for each of the three (2.4+ has virtual mappings for
#     bucket names; an explicit one works on every 2.x),
#   - the v1 user fleet-server (read + write on the three; TELEMETRY_URL's user and password) and the v1
#     user grafana (read only; the Grafana datasources' user and password).
# Each step is skipped when already done, so it can be run again by hand:
#   docker compose -f deploy/docker-compose.yml exec influxdb bash /docker-entrypoint-initdb.d/init-fleet.sh
# The same commands on an InfluxDB 2.x you run yourself: docs/deploy.md ("InfluxDB 2.x").
set -euo pipefail
org="${DOCKER_INFLUXDB_INIT_ORG}"

bucket_id() { influx bucket list --org "$org" --name "$1" --hide-headers 2>/dev/null | awk 'NR == 1 { print $1 }'; }

ensure_bucket() {
  if [ -z "$(bucket_id "$1")" ]; then influx bucket create --org "$org" --name "$1" --retention "$2" >/dev/null; fi
}

ensure_bucket fleet_raw "${DOCKER_INFLUXDB_INIT_RETENTION:-8d}"
ensure_bucket fleet_1m "${INFLUX_MINUTE_RETENTION:-91d}"
ensure_bucket fleet_1h "${INFLUX_HOUR_RETENTION:-731d}"

read_write=()
read_only=()
for db in fleet_raw fleet_1m fleet_1h; do
  id="$(bucket_id "$db")"
  if [ -z "$(influx v1 dbrp list --org "$org" --db "$db" --hide-headers)" ]; then
    influx v1 dbrp create --org "$org" --db "$db" --rp autogen --bucket-id "$id" --default >/dev/null
  fi
  read_write+=(--read-bucket "$id" --write-bucket "$id")
  read_only+=(--read-bucket "$id")
done

ensure_v1_user() {
  local username="$1" password="$2"
  shift 2
  if [ -z "$(influx v1 auth list --org "$org" --username "$username" --hide-headers)" ]; then
    influx v1 auth create --org "$org" --username "$username" --password "$password" "$@" >/dev/null
  else
    influx v1 auth set-password --org "$org" --username "$username" --password "$password" >/dev/null
  fi
}

ensure_v1_user fleet-server "${INFLUX_SERVER_PASSWORD}" "${read_write[@]}"
ensure_v1_user grafana "${INFLUX_GRAFANA_PASSWORD}" "${read_only[@]}"
echo "init-fleet: buckets fleet_raw, fleet_1m, fleet_1h mapped; v1 users fleet-server and grafana ready"
