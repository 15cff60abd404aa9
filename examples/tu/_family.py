"""Shared runner of the per-dataset scripts of this folder.

Each script runs examples/benchmark_table.py for its dataset (every option
of that script is accepted) and rebuilds the table of this folder's
README.md, limited to the TU sets.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from _shared import TU_SETS as FAMILY  # noqa: E402
from _shared import run_family  # noqa: E402


def run(dataset):
    """Run the cells of ``dataset`` asked for on the command line."""
    return run_family(
        dataset, FAMILY, os.path.join(HERE, "README.md"), sys.argv[1:]
    )
