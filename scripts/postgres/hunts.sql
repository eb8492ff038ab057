-- SL hunts, open first (soonest window end first), then past ones (latest first): where each
-- stands, its stop and trigger, what its stop lost and what its recovery order won back (PostgreSQL).
-- psql "$DATABASE" -f scripts/postgres/hunts.sql   (SQLite: scripts/hunts.sql)
-- Every engine's rows; one engine's: put its id for '*' on the first line, e.g.
--   sed "s/VALUES ('\*')/VALUES ('7001')/" scripts/postgres/hunts.sql | psql "$DATABASE"
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
       COALESCE(CAST(CAST(-h.loss_cents AS numeric) / 100 AS numeric(20, 2))::text, '') AS lost,
       COALESCE(CAST(CAST(h.won_back_cents AS numeric) / 100 AS numeric(20, 2))::text, '') AS won_back,
       COALESCE(r.order_id, '') AS recovery_order,
       h.started_at,
       h.expires_at,
       COALESCE(h.triggered_at::text, '') AS triggered_at,
       COALESCE(h.closed_at::text, '') AS closed_at
FROM sl_hunts h
JOIN chains c ON c.chain_id = h.chain_id
CROSS JOIN wanted w
LEFT JOIN chain_orders r
       ON r.chain_id = h.chain_id AND r.level = h.level AND r.slot = h.slot AND r.attempt = h.attempt + 1
      AND r.kind = 'RECOVERY'
WHERE w.engine_id IN ('*', c.engine_id)
ORDER BY h.status NOT IN ('RUNNING', 'RECOVERING'),
         CASE WHEN h.status IN ('RUNNING', 'RECOVERING') THEN h.expires_at END,
         h.closed_at DESC NULLS LAST, h.chain_id, h.slot;
