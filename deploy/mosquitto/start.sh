#!/bin/sh
# The eclipse-mosquitto container's command (deploy/docker-compose.yml): prepare the accounts the config
# names, then run the broker in the foreground (exec: it keeps this pid, and gets docker stop's SIGTERM).
#   - plugin_opt_config_file (the dynamic-security plugin): made on the first start, with the plugin's admin
#     dynsec-admin / MQTT_DYNSEC_ADMIN_PASSWORD; never overwritten afterwards (it holds every robot's client).
#   - password_file: written on every start with the server's account fleet-server / MQTT_SERVER_PASSWORD.
# Files are readable by the mosquitto user only. MOSQUITTO_CONFIG defaults to the image's path.
set -eu
config="${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}"
setting() { awk -v key="$1" '$1 == key { print $2 }' "$config"; }
umask 077
owned=""

dynsec="$(setting plugin_opt_config_file)"
if [ -n "$dynsec" ] && [ ! -f "$dynsec" ]; then
  : "${MQTT_DYNSEC_ADMIN_PASSWORD:?MQTT_DYNSEC_ADMIN_PASSWORD is not set}"
  mosquitto_ctrl dynsec init "$dynsec" dynsec-admin "$MQTT_DYNSEC_ADMIN_PASSWORD" >/dev/null
fi
[ -n "$dynsec" ] && owned="$dynsec"

passwd="$(setting password_file)"
if [ -n "$passwd" ]; then
  : "${MQTT_SERVER_PASSWORD:?MQTT_SERVER_PASSWORD is not set}"
  rm -f "$passwd"
  mosquitto_passwd -c -b "$passwd" fleet-server "$MQTT_SERVER_PASSWORD"
  owned="$owned $passwd"
fi

# As root, Mosquitto drops to its own user before it reads the files.
if [ "$(id -u)" = 0 ] && [ -n "$owned" ]; then
  # shellcheck disable=SC2086
  chown mosquitto:mosquitto $owned
fi
exec /usr/sbin/mosquitto -c "$config"
