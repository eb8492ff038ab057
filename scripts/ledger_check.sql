-- Every way a chain can disagree with its ledger; a healthy database returns no rows.
-- sqlite3 -header -column profit_booking.db < scripts/ledger_check.sql
-- psql "$DATABASE" -f scripts/ledger_check.sql   (the same script runs on PostgreSQL)
-- The ledger (bookings) is the truth: totals, counters, order states, levels and statuses
-- must all follow from it. One row per chain and problem: chain_id, problem, stored, expected,
-- and the chain's engine. Every engine's chains; one engine's: put its id for '*' on the WITH line, e.g.
--   sed "s/VALUES ('\*')/VALUES ('7001')/" scripts/ledger_check.sql | sqlite3 -header -column profit_booking.db
WITH wanted(engine_id) AS (VALUES ('*')),
ledger AS (
    SELECT chain_id, COALESCE(SUM(amount_cents), 0) AS cents
    FROM bookings GROUP BY chain_id
),
booked_here AS (
    SELECT c.chain_id, COUNT(b.id) AS booked
    FROM chains c
    LEFT JOIN bookings b ON b.chain_id = c.chain_id AND b.level = c.level AND b.kind = 'PROFIT'
    GROUP BY c.chain_id
),
active_here AS (
    SELECT c.chain_id, COUNT(o.id) AS active, COALESCE(SUM(CASE WHEN o.status = 'STOPPED' THEN 1 ELSE 0 END), 0) AS stopped
    FROM chains c
    LEFT JOIN chain_orders o
           ON o.chain_id = c.chain_id AND o.level = c.level AND o.status IN ('PENDING', 'SENDING', 'OPEN', 'STOPPED')
    GROUP BY c.chain_id
),
problems AS (
SELECT c.chain_id, 'total differs from the ledger' AS problem,
       c.total_profit_cents AS stored, COALESCE(l.cents, 0) AS expected
FROM chains c LEFT JOIN ledger l ON l.chain_id = c.chain_id
WHERE c.total_profit_cents <> COALESCE(l.cents, 0)
UNION ALL
SELECT c.chain_id, 'orders_booked differs from the ledger', c.orders_booked, h.booked
FROM chains c JOIN booked_here h ON h.chain_id = c.chain_id
WHERE c.orders_booked <> h.booked
UNION ALL
SELECT b.chain_id, 'profit booked above the chain''s level', b.level, c.level
FROM bookings b JOIN chains c ON c.chain_id = b.chain_id
WHERE b.level > c.level
UNION ALL
SELECT b.chain_id, 'profit row without a BOOKED order: ' || b.order_id, NULL, NULL
FROM bookings b
WHERE b.kind = 'PROFIT' AND NOT EXISTS (
    SELECT 1 FROM chain_orders o
    WHERE o.chain_id = b.chain_id AND o.order_id = b.order_id AND o.level = b.level AND o.slot = b.slot
      AND o.status = 'BOOKED')
UNION ALL
SELECT o.chain_id, 'BOOKED order without a profit row: ' || o.order_id, NULL, NULL
FROM chain_orders o
WHERE o.status = 'BOOKED' AND NOT EXISTS (
    SELECT 1 FROM bookings b
    WHERE b.chain_id = o.chain_id AND b.order_id = o.order_id AND b.kind = 'PROFIT')
UNION ALL
SELECT o.chain_id, 'stopped, replaced or lost order without its LOSS row: ' || o.order_id, NULL, NULL
FROM chain_orders o
WHERE o.status IN ('STOPPED', 'REPLACED', 'LOST') AND o.order_id IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM bookings b
    WHERE b.chain_id = o.chain_id AND b.order_id = o.order_id AND b.kind = 'LOSS')
  AND NOT EXISTS (  -- its SL hunt still awaits the stop's figure
    SELECT 1 FROM sl_hunts h
    WHERE h.chain_id = o.chain_id AND h.order_id = o.order_id AND h.loss_cents IS NULL)
UNION ALL
SELECT c.chain_id, 'COMPLETED with its last level not fully resolved', c.orders_booked + c.orders_lost,
       c.orders_in_level
FROM chains c
WHERE c.status = 'COMPLETED' AND c.orders_booked + c.orders_lost <> c.orders_in_level
UNION ALL
SELECT c.chain_id, 'active orders differ from the unresolved slots', a.active,
       c.orders_in_level - c.orders_booked - c.orders_lost
FROM chains c JOIN active_here a ON a.chain_id = c.chain_id
WHERE c.status IN ('ACTIVE', 'SL_HUNT') AND a.active <> c.orders_in_level - c.orders_booked - c.orders_lost
UNION ALL
SELECT c.chain_id, 'status ' || c.status || ' but ' || a.stopped || ' stopped order(s)', NULL, NULL
FROM chains c JOIN active_here a ON a.chain_id = c.chain_id
WHERE (c.status = 'SL_HUNT') <> (c.status IN ('ACTIVE', 'SL_HUNT') AND a.stopped > 0)
)
SELECT p.chain_id, p.problem, p.stored, p.expected, c.engine_id
FROM problems p
LEFT JOIN chains c ON c.chain_id = p.chain_id
CROSS JOIN wanted w
WHERE w.engine_id IN ('*', c.engine_id)
ORDER BY p.chain_id, p.problem;
