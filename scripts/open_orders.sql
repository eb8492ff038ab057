-- Orders still pending, open or stopped in chains that are not final: what a restart rehydrates.
-- sqlite3 -header -column profit_booking.db < scripts/open_orders.sql
-- psql "$DATABASE" -f scripts/open_orders.sql   (the same script runs on PostgreSQL)
SELECT o.chain_id,
       c.symbol,
       c.direction,
       o.level,
       o.slot,
       o.attempt,
       o.kind,
       o.status,
       COALESCE(o.order_id, '(not placed)') AS order_id,
       o.client_order_id
FROM chain_orders o
JOIN chains c ON c.chain_id = o.chain_id
WHERE o.status IN ('PENDING', 'OPEN', 'STOPPED')
  AND c.status NOT IN ('COMPLETED', 'STOPPED', 'CANCELLED')
ORDER BY o.chain_id, o.level, o.slot, o.attempt;
