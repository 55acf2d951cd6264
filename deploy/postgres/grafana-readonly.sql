-- Grafana's PostgreSQL account: read-only, on the tables the dashboards read and nothing else (no users,
-- sessions, API keys or robot credentials: an anonymous Grafana viewer can send any query its datasource
-- allows). Idempotent; run after the server has migrated the schema:
--   psql -v ON_ERROR_STOP=1 -v grafana_password='…' -f deploy/postgres/grafana-readonly.sql
-- deploy/docker-compose.yml runs it (service postgres-grafana-role) on every `up`;
-- packages/server/test/grafana-panels.services.test.ts runs it and every panel's query as this role.
SELECT 'CREATE ROLE grafana_ro NOLOGIN'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'grafana_ro') \gexec
ALTER ROLE grafana_ro WITH LOGIN PASSWORD :'grafana_password';
-- A bounded, read-only session whatever the query.
ALTER ROLE grafana_ro SET default_transaction_read_only = on;
ALTER ROLE grafana_ro SET statement_timeout = '15s';
SELECT format('GRANT CONNECT ON DATABASE %I TO grafana_ro', current_database()) \gexec
GRANT USAGE ON SCHEMA public TO grafana_ro;
GRANT SELECT ON robots, alerts, jobs, system_logs TO grafana_ro;
