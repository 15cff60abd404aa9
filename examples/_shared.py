"""Helpers shared by the benchmark scripts of this folder.

Where the data and caches are, what machine a result came from, atomic
JSON writes, score formatting, and the README blocks that the scripts
rebuild between their markers.
"""

import datetime
import json
import os
import platform
import shlex
import sys
import tempfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
REPO_ROOT = EXAMPLES.parent
README = EXAMPLES / "README.md"
DASH = "–"

# The datasets of the paper's Table 2 (plus PROTEINS), in its order.
DATASETS = (
    "MUTAG",
    "NCI1",
    "DD",
    "PROTEINS",
    "ogbg-molhiv",
    "ogbg-molbace",
    "ogbg-molbbbp",
)
TU_SETS = DATASETS[:4]  # each family has its own README under examples/
OGB_SETS = DATASETS[4:]


def default_data_root():
    """``$DGL_DOSCOND_DATA``, else ``../shared/data`` beside the repo."""
    root = os.environ.get("DGL_DOSCOND_DATA")
    if root:
        return root
    shared = REPO_ROOT.parent / "shared" / "data"
    return str(shared) if shared.is_dir() else None


def default_cache_dir():
    """``$DGL_DOSCOND_CACHE``, else ``~/.cache/dgl_doscond``."""
    cache = os.environ.get("DGL_DOSCOND_CACHE")
    return cache or os.path.join("~", ".cache", "dgl_doscond")


def canonical_name(name):
    """The spelling of ``name`` that has a shipped config (MUTAG, ogbg-*)."""
    wanted = name.lower().replace("_", "-")
    for known in DATASETS:
        if known.lower() == wanted:
            return known

    from dgl_doscond.config import shipped_config_names  # imports torch

    for known in shipped_config_names():
        if known.lower() == wanted:
            return known
    return name


def machine_info(device="cpu"):
    """What ran a result: CPU, core count, torch threads, accelerator."""
    import torch

    info = {
        "processor": platform.processor(),
        "uname": " ".join(platform.uname()),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
    }
    if str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine_and_threads(info):
    """(the machine's label without its threads, torch threads)."""
    label = (
        f"{info.get('cpu_model') or info.get('processor') or '?'}, "
        f"{info.get('cpu_count')} CPUs"
    )
    if info.get("gpu"):
        label += f", {info['gpu']}"
    return label, info.get("torch_threads")


def _threads_label(threads):
    """``[1]`` → "1 thread"; ``[1, 2, 4]`` → "1, 2 or 4 threads"."""
    counts = [str(t) for t in threads]
    listed = ", ".join(counts[:-1]) + " or " if len(counts) > 1 else ""
    return f"{listed}{counts[-1]} thread{'s' if threads != [1] else ''}"


def machine_label(info):
    """A short one-line form of :func:`machine_info` for tables."""
    return machines_label([{"machine": info}])


def machines_label(records):
    """The distinct machines of ``records``, each with the torch thread
    counts its records ran with: "AMD EPYC, 2 CPUs, 1 or 2 threads"."""
    threads = {}
    for r in records:
        if r.get("machine"):
            label, count = _machine_and_threads(r["machine"])
            threads.setdefault(label, set()).add(count)
    labels = []
    for label, counts in sorted(threads.items()):
        known = sorted(c for c in counts if c is not None)
        if None in counts:
            known.append("?")
        labels.append(f"{label}, {_threads_label(known)}")
    return "; ".join(labels) or DASH


def now_utc():
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def command_line():
    """The exact command that is running, as one shell-quoted string."""
    return shlex.join(["python", *sys.argv])


def write_text(path, text):
    """Write ``text`` to ``path`` through a temporary file and a rename,
    so that a killed run leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, data):
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def is_accuracy(metric, dataset=None):
    if metric is None:
        return not str(dataset).startswith("ogbg-")
    return metric == "accuracy"


def metric_label(metric, dataset=None):
    if is_accuracy(metric, dataset):
        return "accuracy (%)"
    return {"rocauc": "ROC-AUC", "ap": "AP"}.get(metric, metric or "ROC-AUC")


def fmt(value, accuracy):
    """A score with 2 decimals (accuracy, percent) or 3 (ROC-AUC)."""
    if value is None:
        return DASH
    return f"{value:.2f}" if accuracy else f"{value:.3f}"


def fmt_mean_std(mean, std, accuracy):
    return f"{fmt(mean, accuracy)} ± {fmt(std, accuracy)}"


def summary(evaluation):
    """``mean ± std (R runs)`` of an EvaluationResult dict."""
    accuracy = is_accuracy(evaluation.get("metric"), evaluation.get("dataset"))
    text = fmt_mean_std(evaluation["mean"], evaluation["std"], accuracy)
    runs = evaluation["runs"]
    return f"{text} ({runs} run{'s' if runs != 1 else ''})"


def md_row(cells):
    """One Markdown table row of ``cells`` (strings)."""
    return "| " + " | ".join(cells) + " |"


def md_head(header):
    """The header row and rule of a Markdown table."""
    return [md_row(header), "|" + "---|" * len(header)]


def fmt_split(split_seed, split_hash):
    seed = "scaffold" if split_seed is None else f"seed {split_seed}"
    return f"{seed}, `{split_hash}`" if split_hash else seed


def date_range(dates):
    days = sorted({d[:10] for d in dates if d})
    if not days:
        return DASH
    return days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"


def setup_logging(verbose):
    """INFO logs with ``-v``, else warnings only."""
    import logging

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def add_split_option(parser):
    """``--split``: the TU split of a script's runs (default: the
    config's)."""
    parser.add_argument(
        "--split",
        choices=["stratified", "permutation"],
        default=None,
        help="TU split (default: the config's, stratified); permutation is "
        "the reference code's split. Use other --results and --readme.",
    )


def replace_block(readme, name, content):
    """Put ``content`` between ``<!-- NAME:begin -->`` and ``:end -->``.

    The README is created, or the markers appended, when missing; the
    text outside the markers is kept as it is.
    """
    readme = Path(readme)
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    write_text(readme, with_block(text, name, content))


def with_block(text, name, content):
    """``text`` with ``content`` between the markers of block ``name``
    (appended with its markers when they are missing)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{content.rstrip()}\n{end}"
    if begin in text and end in text.split(begin, 1)[1]:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        return head + block + tail
    return (text.rstrip() + "\n\n" if text.strip() else "") + block + "\n"


def set_threads(threads):
    """Tune the allocator as the command line does, and set torch's CPU
    thread count when asked."""
    from dgl_doscond.runtime import tune_allocator

    tune_allocator()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def run_family(dataset, family, readme, argv):
    """Run benchmark_table.py's cells of ``dataset``; rebuild ``readme``'s
    table limited to the datasets of ``family``."""
    import benchmark_table

    return benchmark_table.main(
        [
            "--dataset",
            dataset,
            "--readme",
            readme,
            "--table-datasets",
            *family,
            *argv,
        ]
    )
