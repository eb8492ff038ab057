-- Orders still pending, being sent (SENDING: claimed by the engine process claimed_by names; the
-- broker may hold them), open or stopped in chains that are not final: what a restart rehydrates.
-- sqlite3 -header -column profit_booking.db < scripts/open_orders.sql
-- psql "$DATABASE" -f scripts/open_orders.sql   (the same script runs on PostgreSQL)
-- Every engine's rows; one engine's: put its id for '*' on the first line, e.g.
--   sed "s/VALUES ('\*')/VALUES ('7001')/" scripts/open_orders.sql | sqlite3 -header -column profit_booking.db
WITH wanted(engine_id) AS (VALUES ('*'))
SELECT c.engine_id,
       o.chain_id,
       c.symbol,
       c.direction,
       o.level,
       o.slot,
       o.attempt,
       o.kind,
       o.status,
       COALESCE(o.order_id, '(not placed)') AS order_id,
       o.client_order_id,
       COALESCE(o.claimed_by, '') AS claimed_by
FROM chain_orders o
JOIN chains c ON c.chain_id = o.chain_id
CROSS JOIN wanted w
WHERE o.status IN ('PENDING', 'SENDING', 'OPEN', 'STOPPED')
  AND w.engine_id IN ('*', c.engine_id)
  AND c.status NOT IN ('COMPLETED', 'STOPPED', 'CANCELLED')
ORDER BY o.chain_id, o.level, o.slot, o.attempt;
