"""Only the ``ticks`` benchmark (scripts/benchmarks/ticks.py): python scripts/bench_ticks.py [--quick]"""

import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path[:0] = [str(here), str(here.parent)]  # benchmarks/ beside this file; the checkout, uninstalled

from benchmarks.ticks import main

if __name__ == "__main__":
    sys.exit(main())
