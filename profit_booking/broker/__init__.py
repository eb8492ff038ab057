"""The broker side: the ports the engine asks of a broker (``ports.py``), the boundary that
normalises and contains what an adapter does (``boundary.py``), the MetaTrader 5 adapter
(``mt5.py``) and a paper broker (``paper.py``)."""

from .boundary import BrokerBoundary
from .mt5 import Mt5Broker
from .paper import EPOCH, PaperBroker, ticket_of
from .ports import (
    Broker,
    CloseReason,
    Deal,
    MarketClock,
    OrderPlacer,
    OrderRequest,
    Placement,
    Position,
    PositionBook,
    PositionCloser,
    PriceFeed,
    SymbolBook,
    Tick,
)

__all__ = [
    "EPOCH", "Broker", "BrokerBoundary", "CloseReason", "Deal", "MarketClock", "Mt5Broker", "OrderPlacer",
    "OrderRequest", "PaperBroker", "Placement", "Position", "PositionBook", "PositionCloser", "PriceFeed",
    "SymbolBook", "Tick", "ticket_of",
]
