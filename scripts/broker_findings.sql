-- What reconciling with the broker found and did at each startup, newest first.
-- LINKED, PLACED and SETTLED were done; UNKNOWN_POSITION, DUPLICATE_POSITION, MISSING_ORDER,
-- FAILED and UNKNOWN_DEAL were only reported and need an operator's look (nothing is ever
-- adopted); BEHIND_BROKER says a start-up found the database knowing less than the broker (a
-- restored backup or a rolled-back file): its detail counts what was caught up.
-- sqlite3 -header -column profit_booking.db < scripts/broker_findings.sql
-- psql "$DATABASE" -f scripts/broker_findings.sql   (the same script runs on PostgreSQL)
-- Every engine's rows; one engine's: put its id for '*' on the first line, e.g.
--   sed "s/VALUES ('\*')/VALUES ('7001')/" scripts/broker_findings.sql | sqlite3 -header -column profit_booking.db
WITH wanted(engine_id) AS (VALUES ('*'))
SELECT f.at,
       f.engine_id,
       f.kind,
       CASE WHEN f.kind IN ('UNKNOWN_POSITION', 'DUPLICATE_POSITION', 'MISSING_ORDER', 'FAILED', 'UNKNOWN_DEAL',
                            'BEHIND_BROKER')
            THEN 'look' ELSE 'done' END AS action,
       COALESCE(f.chain_id, '') AS chain_id,
       COALESCE(f.ticket, '') AS ticket,
       COALESCE(f.client_order_id, '') AS client_order_id,
       f.detail
FROM broker_findings f
CROSS JOIN wanted w
WHERE w.engine_id IN ('*', f.engine_id)
ORDER BY f.at DESC, f.id DESC;
