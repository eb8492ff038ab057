-- Every chain with its engine, its pyramid position and total in dollars, newest first (PostgreSQL).
-- psql "$DATABASE" -f scripts/postgres/chains.sql   (SQLite: scripts/chains.sql)
-- Every engine's chains; one engine's: put its id for '*' on the first line, e.g.
--   sed "s/VALUES ('\*')/VALUES ('7001')/" scripts/postgres/chains.sql | psql "$DATABASE"
WITH wanted(engine_id) AS (VALUES ('*'))
SELECT c.engine_id,
       c.chain_id,
       c.plugin_id,
       c.symbol,
       c.direction,
       c.level,
       c.orders_booked || '/' || c.orders_in_level AS booked,
       CAST(CAST(c.total_profit_cents AS numeric) / 100 AS numeric(20, 2))::text AS total_profit,
       c.status,
       COALESCE(c.stop_reason, '') AS stop_reason,
       c.updated_at
FROM chains c
CROSS JOIN wanted w
WHERE w.engine_id IN ('*', c.engine_id)
ORDER BY c.created_at DESC, c.chain_id;
