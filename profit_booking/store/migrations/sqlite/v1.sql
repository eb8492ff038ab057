
CREATE TABLE schema_version (
	version INTEGER NOT NULL,
	applied_at DATETIME NOT NULL,
	PRIMARY KEY (version)
);

CREATE TABLE chains (
	chain_id VARCHAR NOT NULL,
	plugin_id VARCHAR NOT NULL,
	symbol VARCHAR NOT NULL,
	direction VARCHAR NOT NULL,
	order_b_id VARCHAR NOT NULL,
	lot VARCHAR(32) NOT NULL,
	level INTEGER NOT NULL,
	orders_in_level INTEGER NOT NULL,
	orders_booked INTEGER NOT NULL,
	orders_lost INTEGER NOT NULL,
	total_profit_cents INTEGER NOT NULL,
	status VARCHAR NOT NULL,
	stop_reason VARCHAR,
	metadata_json JSON NOT NULL,
	version INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (chain_id),
	CONSTRAINT ck_chains_direction CHECK (direction IN ('BUY', 'SELL')),
	CONSTRAINT ck_chains_status CHECK (status IN ('ACTIVE', 'SL_HUNT', 'COMPLETED', 'STOPPED', 'CANCELLED')),
	CONSTRAINT ck_chains_counters CHECK (level >= 0 AND orders_booked >= 0 AND orders_lost >= 0),
	UNIQUE (order_b_id)
);

CREATE INDEX ix_chains_plugin_status ON chains (plugin_id, status);

CREATE TABLE chain_orders (
	id INTEGER NOT NULL,
	chain_id VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	slot INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	kind VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	client_order_id VARCHAR NOT NULL,
	order_id VARCHAR,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_chain_orders_slot_attempt UNIQUE (chain_id, level, slot, attempt),
	CONSTRAINT ck_chain_orders_kind CHECK (kind IN ('ORDER_B', 'LEVEL', 'RECOVERY')),
	CONSTRAINT ck_chain_orders_status CHECK (status IN ('PENDING', 'OPEN', 'STOPPED', 'BOOKED', 'LOST', 'DETACHED', 'CANCELLED')),
	FOREIGN KEY(chain_id) REFERENCES chains (chain_id),
	UNIQUE (client_order_id),
	UNIQUE (order_id)
);

CREATE INDEX ix_chain_orders_active ON chain_orders (chain_id) WHERE status IN ('PENDING', 'OPEN', 'STOPPED');

CREATE TABLE bookings (
	id INTEGER NOT NULL,
	chain_id VARCHAR NOT NULL,
	order_id VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	slot INTEGER NOT NULL,
	kind VARCHAR NOT NULL,
	amount_cents INTEGER NOT NULL,
	booked_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT ck_bookings_amount_sign CHECK ((kind = 'PROFIT' AND amount_cents > 0) OR (kind = 'LOSS' AND amount_cents <= 0)),
	FOREIGN KEY(chain_id) REFERENCES chains (chain_id),
	UNIQUE (order_id)
);

CREATE INDEX ix_bookings_chain ON bookings (chain_id);

CREATE TRIGGER bookings_no_update BEFORE UPDATE ON bookings BEGIN SELECT RAISE(ABORT, 'bookings is append-only'); END;

CREATE TRIGGER bookings_no_delete BEFORE DELETE ON bookings BEGIN SELECT RAISE(ABORT, 'bookings is append-only'); END;

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

CREATE INDEX ix_chain_events_chain ON chain_events (chain_id);

CREATE TRIGGER chain_events_no_update BEFORE UPDATE ON chain_events BEGIN SELECT RAISE(ABORT, 'chain_events is append-only'); END;

CREATE TRIGGER chain_events_no_delete BEFORE DELETE ON chain_events BEGIN SELECT RAISE(ABORT, 'chain_events is append-only'); END;

CREATE TABLE sl_hunts (
	id INTEGER NOT NULL,
	chain_id VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	slot INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	order_id VARCHAR,
	direction VARCHAR NOT NULL,
	stop_price VARCHAR(32),
	status VARCHAR NOT NULL,
	recovery_orders INTEGER NOT NULL,
	started_at DATETIME NOT NULL,
	expires_at DATETIME NOT NULL,
	closed_at DATETIME,
	PRIMARY KEY (id),
	CONSTRAINT uq_sl_hunts_slot_attempt UNIQUE (chain_id, level, slot, attempt),
	CONSTRAINT ck_sl_hunts_direction CHECK (direction IN ('BUY', 'SELL')),
	CONSTRAINT ck_sl_hunts_status CHECK (status IN ('RUNNING', 'RECOVERED', 'FAILED', 'EXPIRED', 'CANCELLED')),
	FOREIGN KEY(chain_id) REFERENCES chains (chain_id)
);

CREATE INDEX ix_sl_hunts_running ON sl_hunts (chain_id) WHERE status = 'RUNNING';

