-- SL hunts, open first (soonest window end first), then past ones (latest first): where each
-- stands, its stop and trigger, what its stop lost and what its recovery order won back.
-- sqlite3 -header -column profit_booking.db < scripts/hunts.sql
-- On PostgreSQL: psql "$DATABASE" -f scripts/postgres/hunts.sql
-- Every engine's rows; one engine's: put its id for '*' on the first line, e.g.
--   sed "s/VALUES ('\*')/VALUES ('7001')/" scripts/hunts.sql | sqlite3 -header -column profit_booking.db
WITH wanted(engine_id) AS (VALUES ('*'))
SELECT c.engine_id,
       h.chain_id,
       c.plugin_id,
       c.symbol,
       h.direction,
       h.level,
       h.slot,
       h.attempt,
       h.status,
       CASE WHEN h.status IN ('RUNNING', 'RECOVERING') THEN 'open' ELSE 'past' END AS phase,
       COALESCE(h.order_id, '') AS stopped_order,
       COALESCE(h.stop_price, '') AS stop_price,
       COALESCE(h.trigger_price, '') AS trigger_price,
       CASE WHEN h.loss_cents IS NULL THEN '' ELSE printf('%.2f', -h.loss_cents / 100.0) END AS lost,
       CASE WHEN h.won_back_cents IS NULL THEN '' ELSE printf('%.2f', h.won_back_cents / 100.0) END AS won_back,
       COALESCE(r.order_id, '') AS recovery_order,
       h.started_at,
       h.expires_at,
       COALESCE(h.triggered_at, '') AS triggered_at,
       COALESCE(h.closed_at, '') AS closed_at
FROM sl_hunts h
JOIN chains c ON c.chain_id = h.chain_id
CROSS JOIN wanted w
LEFT JOIN chain_orders r
       ON r.chain_id = h.chain_id AND r.level = h.level AND r.slot = h.slot AND r.attempt = h.attempt + 1
      AND r.kind = 'RECOVERY'
WHERE w.engine_id IN ('*', c.engine_id)
ORDER BY phase = 'past', CASE WHEN phase = 'open' THEN h.expires_at END, h.closed_at DESC, h.chain_id, h.slot;
