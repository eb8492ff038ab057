-- Every chain with its engine, its pyramid position and total in dollars, newest first.
-- sqlite3 -header -column profit_booking.db < scripts/chains.sql
-- On PostgreSQL: psql "$DATABASE" -f scripts/postgres/chains.sql
-- Every engine's chains; one engine's: put its id for '*' on the first line, e.g.
--   sed "s/VALUES ('\*')/VALUES ('7001')/" scripts/chains.sql | sqlite3 -header -column profit_booking.db
WITH wanted(engine_id) AS (VALUES ('*'))
SELECT c.engine_id,
       c.chain_id,
       c.plugin_id,
       c.symbol,
       c.direction,
       c.level,
       c.orders_booked || '/' || c.orders_in_level AS booked,
       printf('%.2f', c.total_profit_cents / 100.0) AS total_profit,
       c.status,
       COALESCE(c.stop_reason, '') AS stop_reason,
       c.updated_at
FROM chains c
CROSS JOIN wanted w
WHERE w.engine_id IN ('*', c.engine_id)
ORDER BY c.created_at DESC, c.chain_id;
