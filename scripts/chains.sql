-- Every chain with its pyramid position and total in dollars, newest first.
-- sqlite3 -header -column profit_booking.db < scripts/chains.sql
-- On PostgreSQL: psql "$DATABASE" -f scripts/postgres/chains.sql
SELECT chain_id,
       plugin_id,
       symbol,
       direction,
       level,
       orders_booked || '/' || orders_in_level AS booked,
       printf('%.2f', total_profit_cents / 100.0) AS total_profit,
       status,
       COALESCE(stop_reason, '') AS stop_reason,
       updated_at
FROM chains
ORDER BY created_at DESC, chain_id;
