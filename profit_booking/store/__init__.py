"""Persistence: SQLModel tables, the engine with its PRAGMAs, repositories, unit of work."""
