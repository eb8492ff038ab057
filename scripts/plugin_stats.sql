-- Chains and profit per engine, plugin and status, in dollars.
-- sqlite3 -header -column profit_booking.db < scripts/plugin_stats.sql
-- On PostgreSQL: psql "$DATABASE" -f scripts/postgres/plugin_stats.sql
-- Every engine; one engine: put its id for '*' on the first line, e.g.
--   sed "s/VALUES ('\*')/VALUES ('7001')/" scripts/plugin_stats.sql | sqlite3 -header -column profit_booking.db
WITH wanted(engine_id) AS (VALUES ('*'))
SELECT c.engine_id,
       c.plugin_id,
       c.status,
       COUNT(*) AS chains,
       printf('%.2f', SUM(c.total_profit_cents) / 100.0) AS total_profit
FROM chains c
CROSS JOIN wanted w
WHERE w.engine_id IN ('*', c.engine_id)
GROUP BY c.engine_id, c.plugin_id, c.status
ORDER BY c.engine_id, c.plugin_id, c.status;
