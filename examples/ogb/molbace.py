"""DosCond and its baselines on ogbg-molbace.

Results go to the table of this folder's README.md.

    # DosCond at 1, 10 and 50 graphs per class, seeds 0 1 2:
    python examples/ogb/molbace.py
    # The baselines:
    python examples/ogb/molbace.py --method random --method herding \\
        --method kcenter --method dcgraph
    # Rebuild the table only:
    python examples/ogb/molbace.py --table-only

Every option of examples/benchmark_table.py is accepted.
"""

import sys

from _family import run

if __name__ == "__main__":
    sys.exit(run("ogbg-molbace"))
