"""DosCond and its baselines on NCI1.

Results go to the table of this folder's README.md.

    # DosCond at 1, 10 and 50 graphs per class, seeds 0 1 2:
    python examples/tu/nci1.py
    # The baselines:
    python examples/tu/nci1.py --method random --method herding \\
        --method kcenter --method dcgraph
    # Rebuild the table only:
    python examples/tu/nci1.py --table-only

Every option of examples/benchmark_table.py is accepted.
"""

import sys

from _family import run

if __name__ == "__main__":
    sys.exit(run("NCI1"))
