#!/bin/sh
# The eclipse-mosquitto container's command (deploy/docker-compose.yml): write the server's account into
# the password file from MQTT_SERVER_PASSWORD on every start (so changing it is a restart), readable by
# the mosquitto user only, then run the broker in the foreground.
set -eu
: "${MQTT_SERVER_PASSWORD:?MQTT_SERVER_PASSWORD is not set}"
umask 077
passwd=/mosquitto/data/passwd
rm -f "$passwd"
mosquitto_passwd -c -b "$passwd" fleet-server "$MQTT_SERVER_PASSWORD"
chown mosquitto:mosquitto "$passwd"
exec /usr/sbin/mosquitto -c /mosquitto/config/mosquitto.conf
