-- Chains and profit per plugin and status, in dollars.
-- sqlite3 -header -column profit_booking.db < scripts/plugin_stats.sql
-- On PostgreSQL: psql "$DATABASE" -f scripts/postgres/plugin_stats.sql
SELECT plugin_id,
       status,
       COUNT(*) AS chains,
       printf('%.2f', SUM(total_profit_cents) / 100.0) AS total_profit
FROM chains
GROUP BY plugin_id, status
ORDER BY plugin_id, status;
