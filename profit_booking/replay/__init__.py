"""The replay demo: plugins trading on the paper broker over a seeded synthetic tick stream."""

from .run import ReplaySummary, replay

__all__ = ["ReplaySummary", "replay"]
