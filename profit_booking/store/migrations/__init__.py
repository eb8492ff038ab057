"""Alembic revisions of the schema, one per schema version the package has written.

SQLite rebuilds every table to the version's frozen DDL (``sqlite/v{N}.sql``, that version's
``schema.sql``) inside the upgrade's one transaction; PostgreSQL alters in place.
"""
