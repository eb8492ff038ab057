-- Chains and profit per plugin and status, in dollars (PostgreSQL).
-- psql "$DATABASE" -f scripts/postgres/plugin_stats.sql   (SQLite: scripts/plugin_stats.sql)
SELECT plugin_id,
       status,
       COUNT(*) AS chains,
       CAST(CAST(SUM(total_profit_cents) AS numeric) / 100 AS numeric(20, 2))::text AS total_profit
FROM chains
GROUP BY plugin_id, status
ORDER BY plugin_id, status;
