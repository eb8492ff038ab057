"""When to send again the intents of a chain the broker refused: on the market's clock, at once
after a failure that may pass (no connection, a requote), and with a growing pause after a
refusal that cannot succeed as it stands (no money, the market closed, invalid stops), so a
bot does not hammer its terminal on every tick. Pure domain: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_PAUSE = timedelta(seconds=5)
LONGEST_PAUSE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Retry:
    """A chain's next try: not before ``at``, after ``refusals`` final refusals in a row."""

    at: datetime | None
    refusals: int = 0


class PlacementRetries:
    """Chains whose intents wait to be sent again, and when."""

    def __init__(self) -> None:
        self._retries: dict[str, Retry] = {}

    def add(self, chain_id: str, now: datetime, *, final: bool) -> Retry:
        """A placement of the chain failed at ``now``: retry at the next chance when it may pass
        by itself, else after a pause that doubles with each refusal in a row (5 s to 5 min)."""
        if not final:
            retry = Retry(None)
        else:
            refusals = self._retries[chain_id].refusals + 1 if chain_id in self._retries else 1
            retry = Retry(now + min(FIRST_PAUSE * 2 ** (refusals - 1), LONGEST_PAUSE), refusals)
        self._retries[chain_id] = retry
        return retry

    def discard(self, chain_id: str) -> None:
        """The chain's intents are placed (or it ended): nothing to retry."""
        self._retries.pop(chain_id, None)

    def due(self, now: datetime) -> list[str]:
        """The chains to try again at ``now``, in id order."""
        return sorted(cid for cid, retry in self._retries.items() if retry.at is None or retry.at <= now)

    def __contains__(self, chain_id: object) -> bool:
        return chain_id in self._retries

    def __bool__(self) -> bool:
        return bool(self._retries)

    def __len__(self) -> int:
        return len(self._retries)
