"""Configuration: frozen dataclasses built from YAML.

A configuration has three sections, one dataclass each:

- ``model``: the GNN used for matching and, unless overridden, evaluation;
- ``condense``: the condensation method and its optimisation settings;
- ``evaluate``: the evaluation protocol.

:func:`load_config` merges, in this order, the shipped ``default.yaml``, the
shipped file of the dataset (when there is one), a user file and a mapping
of overrides (the CLI options). Every layer is checked: an unknown key or a
value of the wrong type or out of range raises :class:`ConfigError` naming
the key and the value.
"""

import dataclasses
import importlib.resources
import logging
import os
from dataclasses import dataclass, field

import yaml

logger = logging.getLogger(__name__)

__all__ = [
    "Config",
    "ConfigError",
    "CondenseConfig",
    "EvalConfig",
    "ModelConfig",
    "load_config",
    "dcgraph_steps",
    "shipped_config_names",
]

BACKBONES = ("gcn", "gin", "sage", "mlp")
POOLINGS = ("mean", "sum")
METHODS = ("doscond", "dcgraph", "random", "herding", "kcenter")
DISTANCES = ("mse", "ours", "cosine")
INITS = ("real", "noise")
MATCHINGS = ("per_class", "mixed")
ENCODINGS = ("onehot", "raw")
SPLITS = ("stratified", "permutation")
KEEPS = ("last", "best_valid")


class ConfigError(ValueError):
    """A configuration key or value that is not accepted."""


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "gcn"  # one of BACKBONES
    num_layers: int = 3  # graph convolutions before pooling
    hidden_feats: int = 128  # width of every hidden layer
    pooling: str = "mean"  # readout over all nodes: mean or sum
    dropout: float = 0.0  # dropout after every layer (evaluation only)


@dataclass(frozen=True)
class CondenseConfig:
    method: str = "doscond"  # one of METHODS
    gpc: int = 1  # synthetic graphs per class
    epochs: int = 1000  # outer iterations
    lr_feat: float = 0.01  # Adam learning rate of the node features X
    lr_adj: float = 1.0  # Adam learning rate of the edge logits Omega
    lr_drop_at: int = 400  # iteration where both rates drop tenfold
    distance: str = "mse"  # gradient distance: mse, ours (DC), cosine
    init: str = "real"  # start from real graphs or from noise
    batch_real: int = 256  # real graphs per class (or per step) drawn
    beta: float = 0.1  # weight of the edge-density regulariser
    tau_start: float = 1.0  # Gumbel-sigmoid temperature at iteration 0
    tau_end: float = 0.01  # temperature after annealing
    tau_anneal: int = 200  # iterations of geometric annealing
    matching: str = "per_class"  # per_class or mixed (one batch)
    bound_reg: bool = False  # add the sum-pooling bound term
    num_nodes: int = 0  # nodes per synthetic graph; 0: dataset mean
    outer: int = 0  # dcgraph: matchings per iteration; 0: DC's for gpc
    inner: int = -1  # dcgraph: backbone steps between them; -1: DC's
    lr_model: float = 0.01  # dcgraph: learning rate of the inner steps
    coreset_epochs: int = 100  # herding/kcenter: epochs of the embedder
    checkpoint_every: int = 100  # iterations between checkpoints; 0 off
    log_every: int = 10  # iterations between recorded curve points
    valid_every: int = 0  # iterations between validation probes; 0 off
    valid_epochs: int = 50  # training epochs of each validation probe
    keep: str = "last"  # the set returned: last, or best_valid (probes)


@dataclass(frozen=True)
class EvalConfig:
    epochs: int = 500  # training epochs of each evaluation run
    lr: float = 1e-3  # Adam learning rate, tenfold drop at half time
    batch_size: int = 128  # graphs per training step
    weight_decay: float = 0.0  # Adam weight decay
    runs: int = 10  # fresh classifiers trained and reported


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    condense: CondenseConfig = field(default_factory=CondenseConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)
    feat_encoding: str = "onehot"  # OGB atoms: onehot (174) or raw (9)
    split_seed: int = 0  # seed of the split (TU, minigc)
    split: str = "stratified"  # TU, minigc: stratified or permutation

    def to_dict(self):
        """Return the configuration as nested plain dictionaries."""
        return dataclasses.asdict(self)


_SECTIONS = {
    "model": ModelConfig,
    "condense": CondenseConfig,
    "evaluate": EvalConfig,
}

_TOP_LEVEL = ("feat_encoding", "split_seed", "split")

_CHOICES = {
    "model.backbone": BACKBONES,
    "model.pooling": POOLINGS,
    "condense.method": METHODS,
    "condense.distance": DISTANCES,
    "condense.init": INITS,
    "condense.matching": MATCHINGS,
    "condense.keep": KEEPS,
    "feat_encoding": ENCODINGS,
    "split": SPLITS,
}

# Lower bounds (inclusive); every other number must be >= 0.
_MINIMUM = {
    "model.num_layers": 1,
    "model.hidden_feats": 1,
    "condense.gpc": 1,
    "condense.epochs": 1,
    "condense.batch_real": 1,
    "condense.tau_anneal": 1,
    "condense.outer": 0,
    "condense.inner": -1,
    "condense.log_every": 1,
    "condense.valid_epochs": 1,
    "evaluate.epochs": 1,
    "evaluate.batch_size": 1,
    "evaluate.runs": 0,
}

_POSITIVE = {
    "condense.lr_feat",
    "condense.lr_adj",
    "condense.tau_start",
    "condense.tau_end",
    "condense.lr_model",
    "evaluate.lr",
}


def _check_value(key, value, expected):
    """Coerce ``value`` to the type of the default and check its range."""
    if expected is bool:
        if not isinstance(value, bool):
            raise ConfigError(
                f"Config key '{key}' expects true or false, got {value!r}."
            )
    elif expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                f"Config key '{key}' expects an integer, got {value!r}."
            )
    elif expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(
                f"Config key '{key}' expects a number, got {value!r}."
            )
        value = float(value)
    elif expected is str:
        if not isinstance(value, str):
            raise ConfigError(
                f"Config key '{key}' expects a string, got {value!r}."
            )

    if key in _CHOICES and value not in _CHOICES[key]:
        valid = ", ".join(_CHOICES[key])
        raise ConfigError(
            f"Config key '{key}' must be one of {valid}; got {value!r}."
        )
    if expected in (int, float):
        low = _MINIMUM.get(key, 0)
        if value < low or (key in _POSITIVE and value <= 0):
            bound = "> 0" if key in _POSITIVE else f">= {low}"
            raise ConfigError(
                f"Config key '{key}' must be {bound}; got {value!r}."
            )
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(
                f"Config key '{key}' must be finite; got {value!r}."
            )
    return value


def _merge_section(current, updates, prefix, cls):
    if not isinstance(updates, dict):
        raise ConfigError(
            f"Config section '{prefix}' must be a mapping, got {updates!r}."
        )
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    merged = dict(current)
    for key, value in updates.items():
        if key not in types:
            valid = ", ".join(types)
            raise ConfigError(
                f"Unknown config key '{prefix}.{key}'. Valid keys of "
                f"'{prefix}': {valid}."
            )
        merged[key] = _check_value(f"{prefix}.{key}", value, types[key])
    return merged


def _merge(base, updates, source):
    """Merge one layer of nested updates into a nested plain dict."""
    if updates is None:
        return base
    if not isinstance(updates, dict):
        raise ConfigError(
            f"Config from {source} must be a mapping of sections, got "
            f"{type(updates).__name__}."
        )
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in updates.items():
        if key in _SECTIONS:
            merged[key] = _merge_section(
                merged[key], value, key, _SECTIONS[key]
            )
        elif key in _TOP_LEVEL:
            expected = int if key == "split_seed" else str
            merged[key] = _check_value(key, value, expected)
        else:
            valid = ", ".join([*_SECTIONS, *_TOP_LEVEL])
            raise ConfigError(
                f"Unknown config key '{key}' in {source}. Valid top-level "
                f"keys: {valid}."
            )
    return merged


def _read_yaml(text, source):
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} is not valid YAML: {err}") from None
    return {} if data is None else data


def _shipped(name):
    return importlib.resources.files("dgl_doscond").joinpath(
        "configs", f"{name}.yaml"
    )


def _normalise(name):
    return name.lower().replace("_", "-")


def _shipped_for(dataset):
    """The shipped file of ``dataset`` (any case, ``_`` or ``-``)."""
    for name in shipped_config_names():
        if _normalise(name) == _normalise(dataset):
            return _shipped(name)
    return None


def dcgraph_steps(gpc):
    """Dataset Condensation's (outer, inner) counts for ``gpc`` graphs per
    class: (1, 1) up to 1, (10, 50) up to 10, (50, 10) above."""
    if gpc <= 1:
        return 1, 1
    if gpc <= 10:
        return 10, 50
    return 50, 10


def shipped_config_names():
    """Return the dataset names that have a shipped configuration file."""
    folder = importlib.resources.files("dgl_doscond").joinpath("configs")
    names = [
        p.name[: -len(".yaml")]
        for p in folder.iterdir()
        if p.name.endswith(".yaml") and p.name != "default.yaml"
    ]
    return sorted(names)


def load_config(dataset=None, path=None, overrides=None):
    """Build the configuration of a run.

    Parameters
    ----------
    dataset : str, optional
        Dataset name. Its shipped file (``configs/NAME.yaml``), when there
        is one, is applied over ``default.yaml``.
    path : str or os.PathLike, optional
        A user YAML file applied over the shipped ones.
    overrides : dict, optional
        Nested mapping applied last, e.g. ``{"condense": {"gpc": 10}}``.

    Returns
    -------
    Config
        The frozen configuration.

    Raises
    ------
    ConfigError
        On a missing or invalid file, an unknown key, or a bad value.
    """
    base = Config().to_dict()
    default = _shipped("default")
    layers = [(default.read_text(), "the shipped default.yaml")]
    shipped = None if dataset is None else _shipped_for(dataset)
    if shipped is not None:
        layers.append((shipped.read_text(), f"the shipped {shipped.name}"))
    if path is not None:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ConfigError(
                f"Config file '{path}' does not exist. Pass the path of a "
                "YAML file, e.g. one copied from dgl_doscond/configs/."
            )
        with open(path, encoding="utf-8") as handle:
            layers.append((handle.read(), f"config file '{path}'"))

    for text, source in layers:
        base = _merge(base, _read_yaml(text, source), source)
    base = _merge(base, overrides, "the command-line options")
    condense = base["condense"]
    if condense["keep"] == "best_valid" and not condense["valid_every"]:
        raise ConfigError(
            "Config key 'condense.keep' is best_valid, which keeps the set "
            "of the best validation probe, but 'condense.valid_every' is 0 "
            "(no probes); set it, e.g. --valid-every 50."
        )

    return Config(
        model=ModelConfig(**base["model"]),
        condense=CondenseConfig(**base["condense"]),
        evaluate=EvalConfig(**base["evaluate"]),
        feat_encoding=base["feat_encoding"],
        split_seed=base["split_seed"],
        split=base["split"],
    )
