"""A second bot for the lease fence tests: ``python lease_taker.py DB ORDER_B``.

It opens DB for writing through the public API, which takes over a lease whose holder has not
renewed it within the time to live (``PROFIT_BOOKING_LEASE_TTL_SECONDS``), opens a chain for
ORDER_B and books it, prints ``{"ready": true, "pid": ..., "chain_id": ...}``, holds the lease
until a line arrives on stdin, then closes and prints ``{"closed": true}``. A package error
prints ``{"error": TYPE, "message": ...}`` and exits 3.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys


async def take(db: str, order_b: str) -> int:
    from profit_booking import ProfitBookingError, load_settings, open_service

    try:
        service = await open_service(load_settings(database_url=f"sqlite+aiosqlite:///{db}"))
    except ProfitBookingError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), flush=True)
        return 3
    try:
        chain = await service.create_chain("combined_v3", order_b, "EURUSD", "BUY")
        booked = await service.book_profit(chain.chain_id, order_b, 7)
        assert booked.success, booked.error
        print(json.dumps({"ready": True, "pid": os.getpid(), "chain_id": chain.chain_id}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    finally:
        await service.aclose()
    print(json.dumps({"closed": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(take(*sys.argv[1:3])))
