-- profit_booking schema, version 7 (SQLite).
-- The readable contract of the tables in profit_booking/store/tables.py; regenerate with
-- `python scripts/dump_schema.py > schema.sql`. Money is integer cents, lots and prices are
-- decimal text, timestamps are UTC, enums are their member names (each CHECK lists the
-- domain enum's members). `bookings` (the ledger) and `chain_events` are append-only:
-- triggers refuse UPDATE and DELETE. `writer_lease` names the one process writing the file.
-- `operator_requests` is the operator inbox a running engine drains; `engine_state` keeps each
-- engine's profit-booking switch and the last tick and deal it saw. Chains, requests and findings
-- carry their `engine_id`; an intent claimed for one send is `SENDING`, `claimed_by` its engine
-- process. `alembic_version` names the head revision (store/migrations); `profit-booking db
-- upgrade` brings an older file here.

-- table schema_version
CREATE TABLE schema_version (
	version INTEGER NOT NULL,
	applied_at DATETIME NOT NULL,
	PRIMARY KEY (version)
);

-- table writer_lease
CREATE TABLE writer_lease (
	id INTEGER NOT NULL,
	token VARCHAR NOT NULL,
	pid INTEGER NOT NULL,
	host VARCHAR NOT NULL,
	since DATETIME NOT NULL,
	renewed_at DATETIME NOT NULL,
	ttl_seconds INTEGER NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT ck_writer_lease_single CHECK (id = 1)
);

-- table chains
CREATE TABLE chains (
	chain_id VARCHAR NOT NULL,
	engine_id VARCHAR NOT NULL,
	plugin_id VARCHAR NOT NULL,
	symbol VARCHAR NOT NULL,
	direction VARCHAR NOT NULL,
	order_b_id VARCHAR NOT NULL,
	lot VARCHAR(32) NOT NULL,
	level INTEGER NOT NULL,
	orders_in_level INTEGER NOT NULL,
	orders_booked INTEGER NOT NULL,
	orders_lost INTEGER NOT NULL,
	total_profit_cents BIGINT NOT NULL,
	status VARCHAR(24) NOT NULL,
	stop_reason VARCHAR,
	metadata_json JSON NOT NULL,
	version INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (chain_id),
	CONSTRAINT ck_chains_direction CHECK (direction IN ('BUY', 'SELL')),
	CONSTRAINT ck_chains_counters CHECK (level >= 0 AND orders_booked >= 0 AND orders_lost >= 0),
	UNIQUE (order_b_id),
	CONSTRAINT ck_chains_status CHECK (status IN ('ACTIVE', 'COMPLETED', 'SL_HUNT', 'CANCELLED', 'STOPPED'))
);

-- index ix_chains_plugin_status
CREATE INDEX ix_chains_plugin_status ON chains (plugin_id, status);

-- index ix_chains_unfinished
CREATE INDEX ix_chains_unfinished ON chains (engine_id, level) WHERE status IN ('ACTIVE', 'SL_HUNT');

-- table broker_findings
CREATE TABLE broker_findings (
	id INTEGER NOT NULL,
	engine_id VARCHAR NOT NULL,
	at DATETIME NOT NULL,
	kind VARCHAR(24) NOT NULL,
	chain_id VARCHAR,
	ticket VARCHAR,
	client_order_id VARCHAR,
	detail JSON NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT ck_broker_findings_kind CHECK (kind IN ('LINKED', 'PLACED', 'SETTLED', 'UNKNOWN_POSITION', 'DUPLICATE_POSITION', 'MISSING_ORDER', 'FAILED', 'UNKNOWN_DEAL', 'BEHIND_BROKER'))
);

-- index ix_broker_findings_chain
CREATE INDEX ix_broker_findings_chain ON broker_findings (chain_id);

-- index ix_broker_findings_at
CREATE INDEX ix_broker_findings_at ON broker_findings (at);

-- trigger broker_findings_no_update
CREATE TRIGGER broker_findings_no_update BEFORE UPDATE ON broker_findings BEGIN SELECT RAISE(ABORT, 'broker_findings is append-only'); END;

-- trigger broker_findings_no_delete
CREATE TRIGGER broker_findings_no_delete BEFORE DELETE ON broker_findings BEGIN SELECT RAISE(ABORT, 'broker_findings is append-only'); END;

-- table operator_requests
CREATE TABLE operator_requests (
	id INTEGER NOT NULL,
	engine_id VARCHAR NOT NULL,
	kind VARCHAR(24) NOT NULL,
	chain_id VARCHAR,
	plugin_id VARCHAR,
	enabled BOOLEAN,
	leave_positions BOOLEAN NOT NULL,
	requested_by VARCHAR NOT NULL,
	requested_at DATETIME NOT NULL,
	status VARCHAR(24) NOT NULL,
	outcome JSON,
	handled_by VARCHAR,
	handled_at DATETIME,
	PRIMARY KEY (id),
	CONSTRAINT ck_operator_requests_kind CHECK (kind IN ('STOP_CHAIN', 'STOP_ALL', 'PROFIT_BOOKING')),
	CONSTRAINT ck_operator_requests_status CHECK (status IN ('PENDING', 'DONE', 'FAILED'))
);

-- index ix_operator_requests_pending
CREATE INDEX ix_operator_requests_pending ON operator_requests (id) WHERE status IN ('PENDING');

-- table engine_state
CREATE TABLE engine_state (
	engine_id VARCHAR NOT NULL,
	profit_booking_enabled BOOLEAN NOT NULL,
	switched_by VARCHAR,
	switched_at DATETIME,
	last_tick_at DATETIME,
	last_deal_at DATETIME,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (engine_id)
);

-- table chain_orders
CREATE TABLE chain_orders (
	id INTEGER NOT NULL,
	chain_id VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	slot INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	kind VARCHAR(24) NOT NULL,
	status VARCHAR(24) NOT NULL,
	client_order_id VARCHAR NOT NULL,
	order_id VARCHAR,
	target_price VARCHAR(32),
	stop_price VARCHAR(32),
	claimed_by VARCHAR,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_chain_orders_slot_attempt UNIQUE (chain_id, level, slot, attempt),
	FOREIGN KEY(chain_id) REFERENCES chains (chain_id),
	CONSTRAINT ck_chain_orders_kind CHECK (kind IN ('ORDER_B', 'LEVEL', 'RECOVERY')),
	CONSTRAINT ck_chain_orders_status CHECK (status IN ('PENDING', 'SENDING', 'OPEN', 'STOPPED', 'REPLACED', 'BOOKED', 'LOST', 'DETACHED', 'CANCELLED')),
	UNIQUE (client_order_id),
	UNIQUE (order_id)
);

-- index ix_chain_orders_active
CREATE INDEX ix_chain_orders_active ON chain_orders (chain_id) WHERE status IN ('OPEN', 'PENDING', 'SENDING', 'STOPPED');

-- table bookings
CREATE TABLE bookings (
	id INTEGER NOT NULL,
	chain_id VARCHAR NOT NULL,
	order_id VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	slot INTEGER NOT NULL,
	kind VARCHAR(24) NOT NULL,
	amount_cents BIGINT NOT NULL,
	booked_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT ck_bookings_profit_positive CHECK (kind = 'LOSS' OR amount_cents > 0),
	FOREIGN KEY(chain_id) REFERENCES chains (chain_id),
	UNIQUE (order_id),
	CONSTRAINT ck_bookings_kind CHECK (kind IN ('PROFIT', 'LOSS'))
);

-- index ix_bookings_chain
CREATE INDEX ix_bookings_chain ON bookings (chain_id);

-- trigger bookings_no_update
CREATE TRIGGER bookings_no_update BEFORE UPDATE ON bookings BEGIN SELECT RAISE(ABORT, 'bookings is append-only'); END;

-- trigger bookings_no_delete
CREATE TRIGGER bookings_no_delete BEFORE DELETE ON bookings BEGIN SELECT RAISE(ABORT, 'bookings is append-only'); END;

-- table chain_events
CREATE TABLE chain_events (
	id INTEGER NOT NULL,
	chain_id VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	data JSON NOT NULL,
	at DATETIME NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(chain_id) REFERENCES chains (chain_id)
);

-- index ix_chain_events_chain
CREATE INDEX ix_chain_events_chain ON chain_events (chain_id);

-- index ix_chain_events_at
CREATE INDEX ix_chain_events_at ON chain_events (at);

-- trigger chain_events_no_update
CREATE TRIGGER chain_events_no_update BEFORE UPDATE ON chain_events BEGIN SELECT RAISE(ABORT, 'chain_events is append-only'); END;

-- trigger chain_events_no_delete
CREATE TRIGGER chain_events_no_delete BEFORE DELETE ON chain_events BEGIN SELECT RAISE(ABORT, 'chain_events is append-only'); END;

-- table sl_hunts
CREATE TABLE sl_hunts (
	id INTEGER NOT NULL,
	chain_id VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	slot INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	order_id VARCHAR,
	direction VARCHAR NOT NULL,
	stop_price VARCHAR(32),
	trigger_price VARCHAR(32),
	status VARCHAR(24) NOT NULL,
	loss_cents BIGINT,
	won_back_cents BIGINT,
	started_at DATETIME NOT NULL,
	expires_at DATETIME NOT NULL,
	triggered_at DATETIME,
	closed_at DATETIME,
	PRIMARY KEY (id),
	CONSTRAINT uq_sl_hunts_slot_attempt UNIQUE (chain_id, level, slot, attempt),
	CONSTRAINT ck_sl_hunts_direction CHECK (direction IN ('BUY', 'SELL')),
	FOREIGN KEY(chain_id) REFERENCES chains (chain_id),
	CONSTRAINT ck_sl_hunts_status CHECK (status IN ('RUNNING', 'RECOVERING', 'RECOVERED', 'FAILED', 'EXPIRED', 'CANCELLED'))
);

-- index ix_sl_hunts_open
CREATE INDEX ix_sl_hunts_open ON sl_hunts (chain_id) WHERE status IN ('RECOVERING', 'RUNNING');

-- table alembic_version
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

