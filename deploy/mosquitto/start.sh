#!/bin/sh
# The eclipse-mosquitto container's command (deploy/docker-compose.yml): write the server's account into
# the password file from MQTT_SERVER_PASSWORD on every start (so changing it is a restart), readable by
# the mosquitto user only, then run the broker in the foreground (exec: it keeps this pid, and gets
# docker stop's SIGTERM). MOSQUITTO_DATA_DIR and MOSQUITTO_CONFIG default to the image's paths.
set -eu
: "${MQTT_SERVER_PASSWORD:?MQTT_SERVER_PASSWORD is not set}"
data="${MOSQUITTO_DATA_DIR:-/mosquitto/data}"
config="${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}"
umask 077
passwd="$data/passwd"
rm -f "$passwd"
mosquitto_passwd -c -b "$passwd" fleet-server "$MQTT_SERVER_PASSWORD"
# With the dynamic-security plugin enabled in the config (its two lines uncommented), its file is made on the
# first start with the server's account as the plugin's admin: the server then manages the robots' clients
# and roles (MQTT_DYNSEC=true). Never overwritten: it holds every robot's client.
dynsec="$(awk '$1 == "plugin_opt_config_file" { print $2 }' "$config")"
if [ -n "$dynsec" ] && [ ! -f "$dynsec" ]; then
  mosquitto_ctrl dynsec init "$dynsec" fleet-server "$MQTT_SERVER_PASSWORD" >/dev/null
fi
# As root, Mosquitto drops to its own user before it reads the files.
if [ "$(id -u)" = 0 ]; then
  chown mosquitto:mosquitto "$passwd"
  if [ -n "$dynsec" ]; then chown mosquitto:mosquitto "$dynsec"; fi
fi
exec /usr/sbin/mosquitto -c "$config"
