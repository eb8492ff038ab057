-- Every chain with its pyramid position and total in dollars, newest first (PostgreSQL).
-- psql "$DATABASE" -f scripts/postgres/chains.sql   (SQLite: scripts/chains.sql)
SELECT chain_id,
       plugin_id,
       symbol,
       direction,
       level,
       orders_booked || '/' || orders_in_level AS booked,
       CAST(CAST(total_profit_cents AS numeric) / 100 AS numeric(20, 2))::text AS total_profit,
       status,
       COALESCE(stop_reason, '') AS stop_reason,
       updated_at
FROM chains
ORDER BY created_at DESC, chain_id;
