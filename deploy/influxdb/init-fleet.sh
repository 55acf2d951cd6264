#!/bin/bash
# InfluxDB 2.x, first start only: the influxdb image runs /docker-entrypoint-initdb.d/*.sh once, after its
# setup mode has created the org, the admin token and the bucket fleet_raw (deploy/docker-compose.yml).
# The server reads and writes through the v1 API by database name, so this script makes
#   - the buckets fleet_1m and fleet_1h (the roll-up tiers, with their own retention),
#   - a DBRP mapping <name>/autogen → bucket <name> for each of the three (2.4+ has virtual mappings for
#     bucket names; an explicit one works on every 2.x),
#   - the v1 user fleet-server (read + write on the three; TELEMETRY_URL's user and password) and the v1
#     user grafana (read only; the Grafana datasources' user and password).
# The same commands, by hand, on an InfluxDB 2.x you run yourself: docs/deploy.md ("InfluxDB 2.x").
set -euo pipefail
org="${DOCKER_INFLUXDB_INIT_ORG}"

bucket_id() { influx bucket list --org "$org" --name "$1" --hide-headers | awk 'NR == 1 { print $1 }'; }

influx bucket create --org "$org" --name fleet_1m --retention "${INFLUX_MINUTE_RETENTION:-91d}"
influx bucket create --org "$org" --name fleet_1h --retention "${INFLUX_HOUR_RETENTION:-731d}"

read_write=()
read_only=()
for db in fleet_raw fleet_1m fleet_1h; do
  id="$(bucket_id "$db")"
  influx v1 dbrp create --org "$org" --db "$db" --rp autogen --bucket-id "$id" --default
  read_write+=(--read-bucket "$id" --write-bucket "$id")
  read_only+=(--read-bucket "$id")
done

influx v1 auth create --org "$org" --username fleet-server --password "${INFLUX_SERVER_PASSWORD}" "${read_write[@]}"
influx v1 auth create --org "$org" --username grafana --password "${INFLUX_GRAFANA_PASSWORD}" "${read_only[@]}"
