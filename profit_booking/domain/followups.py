"""The work that committed changes imply beyond themselves: a use case returns it, and the
engine's one dispatcher (``usecases/dispatch.py``) runs it, so that no use case calls another."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class FollowUps:
    """What is to be done once a use case's changes are committed.

    ``place``: the chains whose order intents go out now (a level opened, a recovery order was
    written), in the order they are to be placed; ``expect``: the chains one of whose closes
    the broker will show in its history later, with when it was heard of (the engine reads the
    broker's deals on its ticks until the close shows).
    """

    place: list[str] = field(default_factory=list)
    expect: dict[str, datetime] = field(default_factory=dict)

    def add(self, other: FollowUps) -> None:
        """Take ``other``'s work after this one's."""
        self.place += [chain_id for chain_id in other.place if chain_id not in self.place]
        self.expect.update(other.expect)
