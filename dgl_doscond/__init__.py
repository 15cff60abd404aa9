"""dgl-doscond: condense a graph-classification dataset into a few
learnable synthetic graphs by one-step gradient matching (DosCond).

The main entry points:

- :func:`load_dataset` (``dgl_doscond.data``): a registry of OGB, TU and
  DGL datasets that reads local files offline;
- :func:`condense` (``dgl_doscond.condense``): DosCond and DC-Graph;
- :func:`evaluate` (``dgl_doscond.evaluate``): the evaluation harness;
- :func:`save_condensed` / :func:`load_condensed` (``dgl_doscond.io``).
"""

__version__ = "0.1.0"

from .condense import (  # noqa: E402
    Condensation,
    CondensationInterrupted,
    StopRequest,
    condense,
)
from .config import Config, ConfigError, load_config  # noqa: E402
from .data import (  # noqa: E402
    DatasetNotFoundError,
    GraphDataset,
    available_datasets,
    load_dataset,
)
from .evaluate import EvaluationResult, evaluate  # noqa: E402
from .io import CondensedSetError, load_condensed, save_condensed  # noqa: E402
from .pipeline import condense_to_file, run_method  # noqa: E402

__all__ = [
    "Condensation",
    "CondensationInterrupted",
    "CondensedSetError",
    "Config",
    "ConfigError",
    "DatasetNotFoundError",
    "EvaluationResult",
    "GraphDataset",
    "StopRequest",
    "available_datasets",
    "condense",
    "condense_to_file",
    "evaluate",
    "load_condensed",
    "load_config",
    "load_dataset",
    "run_method",
    "save_condensed",
]
