"""The broker side: the ports the bot implements (``ports.py``) and a paper broker (``paper.py``)."""

from .paper import EPOCH, PaperBroker, ticket_of
from .ports import (
    Broker, CloseReason, Deal, MarketClock, OrderPlacer, OrderRequest, Position, PositionBook, PriceFeed, Tick,
)

__all__ = [
    "EPOCH", "Broker", "CloseReason", "Deal", "MarketClock", "OrderPlacer", "OrderRequest", "PaperBroker",
    "Position", "PositionBook", "PriceFeed", "Tick", "ticket_of",
]
