"""The ``profit-booking`` command line: a seeded demo on a real database, and read-only views."""
