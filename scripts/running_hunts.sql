-- SL hunts still waiting for the price to come back, soonest deadline first.
-- sqlite3 -header -column profit_booking.db < scripts/running_hunts.sql
SELECT h.chain_id,
       c.symbol,
       h.direction,
       h.level,
       h.slot,
       COALESCE(h.order_id, '') AS stopped_order,
       COALESCE(h.stop_price, '') AS stop_price,
       h.started_at,
       h.expires_at
FROM sl_hunts h
JOIN chains c ON c.chain_id = h.chain_id
WHERE h.status = 'RUNNING'
ORDER BY h.expires_at;
