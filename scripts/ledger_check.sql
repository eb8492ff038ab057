-- Chains whose stored total or counters disagree with their ledger. A healthy database returns no rows.
-- sqlite3 -header -column profit_booking.db < scripts/ledger_check.sql
WITH ledger AS (
    SELECT chain_id,
           COALESCE(SUM(amount_cents), 0) AS ledger_cents,
           SUM(kind = 'PROFIT') AS profits
    FROM bookings
    GROUP BY chain_id
),
current_level AS (
    SELECT c.chain_id, COUNT(b.id) AS booked_at_level
    FROM chains c
    LEFT JOIN bookings b ON b.chain_id = c.chain_id AND b.level = c.level AND b.kind = 'PROFIT'
    GROUP BY c.chain_id
)
SELECT c.chain_id,
       c.total_profit_cents,
       COALESCE(l.ledger_cents, 0) AS ledger_cents,
       c.orders_booked,
       cl.booked_at_level
FROM chains c
LEFT JOIN ledger l ON l.chain_id = c.chain_id
JOIN current_level cl ON cl.chain_id = c.chain_id
WHERE c.total_profit_cents <> COALESCE(l.ledger_cents, 0)
   OR c.orders_booked <> cl.booked_at_level;
