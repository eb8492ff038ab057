-- Chains and profit per engine, plugin and status, in dollars (PostgreSQL).
-- psql "$DATABASE" -f scripts/postgres/plugin_stats.sql   (SQLite: scripts/plugin_stats.sql)
-- Every engine; one engine: put its id for '*' on the first line, e.g.
--   sed "s/VALUES ('\*')/VALUES ('7001')/" scripts/postgres/plugin_stats.sql | psql "$DATABASE"
WITH wanted(engine_id) AS (VALUES ('*'))
SELECT c.engine_id,
       c.plugin_id,
       c.status,
       COUNT(*) AS chains,
       CAST(CAST(SUM(c.total_profit_cents) AS numeric) / 100 AS numeric(20, 2))::text AS total_profit
FROM chains c
CROSS JOIN wanted w
WHERE w.engine_id IN ('*', c.engine_id)
GROUP BY c.engine_id, c.plugin_id, c.status
ORDER BY c.engine_id, c.plugin_id, c.status;
