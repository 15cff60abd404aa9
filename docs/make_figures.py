"""Make the pictures of docs/figures/ (run: python docs/make_figures.py).

Condenses MUTAG to 2 graphs per class with the shipped MUTAG settings and
draws the condensation curves, the synthetic graphs beside real graphs of
the same class, and the degree and size distributions. The data root is
``$DGL_DOSCOND_DATA`` or ``../shared/data`` beside the repository.
"""

import json
import os
import sys
import tempfile

import dgl_doscond
from dgl_doscond.plots import plot_condensed

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def main():
    data_root = os.environ.get("DGL_DOSCOND_DATA") or os.path.join(
        REPO, "..", "shared", "data"
    )
    data = dgl_doscond.load_dataset("MUTAG", data_root=data_root)
    config = dgl_doscond.load_config(
        "MUTAG", overrides={"condense": {"gpc": 2, "valid_every": 100}}
    )
    out_dir = os.path.join(HERE, "figures")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mutag-gpc2.bin")
        manifest, _ = dgl_doscond.condense_to_file(data, config, path, seed=0)
        written = plot_condensed(path, data, out_dir, per_class=2)
    record = {
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "dataset": manifest["dataset"],
        "gpc": manifest["gpc"],
        "seed": manifest["seed"],
        "created": manifest["created"],
        "figures": [os.path.basename(p) for p in written],
    }
    with open(os.path.join(out_dir, "figures.json"), "w") as handle:
        json.dump(record, handle, indent=2)
        handle.write("\n")


if __name__ == "__main__":
    main()
