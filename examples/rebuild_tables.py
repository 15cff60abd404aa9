"""Rebuild every generated table of the examples' READMEs from the
committed result JSONs, or check that none is out of date.

Each README block between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``
is written by one of the example scripts (the README beside it says
which); this runs all of their table builders at once, with the result
folders and dataset rows those READMEs document, and runs nothing else.

    python examples/rebuild_tables.py           # rewrite the blocks
    python examples/rebuild_tables.py --check   # list stale ones; exit 1
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _shared as sh  # noqa: E402
import compare_keep_best  # noqa: E402
import cross_architecture  # noqa: E402
import results_table as rt  # noqa: E402
import shortfalls  # noqa: E402
import split_difficulty  # noqa: E402
import whole_dataset  # noqa: E402

TU, OGB = sh.TU_SETS, sh.OGB_SETS
KEEP_BEST_ROWS = ("MUTAG", "NCI1", "ogbg-molbace")


def blocks(root=sh.EXAMPLES):
    """(README, block name, builder) for every generated block, with the
    READMEs and result folders under ``root`` (the examples folder); a
    builder returning an empty string leaves its block out, as the
    scripts do."""
    root = Path(root)
    res = root / "results"
    table, whole, ref = res / "table", res / "whole", res / "reference_split"
    main, tu, ogb = root / "README.md", root / "tu", root / "ogb"
    best, onehot = root / "keep_best" / "README.md", root / "onehot"

    tried = {  # the shortfall table's columns, from the folders under root
        column: (res / folder.relative_to(shortfalls.RESULTS), paired)
        for column, (folder, paired) in shortfalls.TRIED.items()
    }

    def result_table(results, datasets=None, whole=whole):
        return lambda: rt.build_table(results, whole, datasets)

    def costs(datasets=None):
        return lambda: rt.build_costs(table, datasets)

    return [
        (main, "whole", lambda: whole_dataset.build_table(whole)),
        (main, "table", result_table(table)),
        (
            main,
            "shortfall",
            lambda: shortfalls.build_shortfalls(table, whole, tried),
        ),
        (main, "dcgraph-cost", costs()),
        (main, "cross", lambda: cross_architecture.build_table(res / "cross")),
        (
            main,
            "split",
            lambda: split_difficulty.table(
                sh.read_json(res / "split_difficulty.json")
            ),
        ),
        (tu / "README.md", "table", result_table(table, TU)),
        (tu / "README.md", "dcgraph-cost", costs(TU)),
        (ogb / "README.md", "table", result_table(table, OGB)),
        (ogb / "README.md", "dcgraph-cost", costs(OGB)),
        (best, "table", result_table(res / "keep_best", KEEP_BEST_ROWS)),
        (
            best,
            "compare",
            lambda: compare_keep_best.build_comparison(
                table, res / "keep_best"
            ),
        ),
        (onehot / "README.md", "table", result_table(res / "onehot", OGB)),
        (
            root / "reference_split" / "README.md",
            "whole",
            lambda: whole_dataset.build_table(ref / "whole"),
        ),
        (
            root / "reference_split" / "README.md",
            "table",
            result_table(ref / "table", ("MUTAG",), whole=ref / "whole"),
        ),
    ]


def rebuilt(root=sh.EXAMPLES):
    """{README path: (its text now, its text with every block rebuilt)}."""
    texts = {}
    for readme, name, build in blocks(root):
        if readme not in texts:
            text = readme.read_text(encoding="utf-8")
            texts[readme] = (text, text)
        content = build()
        if content:
            old, new = texts[readme]
            texts[readme] = (old, sh.with_block(new, name, content))
    return texts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="Write nothing; list the READMEs whose tables differ from "
        "what the JSONs give, and exit 1 if any does.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=sh.EXAMPLES,
        help="The examples folder (its READMEs and results/).",
    )
    args = parser.parse_args(argv)
    if not (args.root / "README.md").is_file():
        parser.error(
            f"--root {args.root} has no README.md: give the examples folder "
            "(the one holding README.md and results/)"
        )
    stale = []
    for readme, (old, new) in rebuilt(args.root).items():
        where = readme.relative_to(args.root.parent)
        if old == new:
            print(f"{where}: up to date")
            continue
        stale.append(where)
        if args.check:
            print(f"{where}: out of date")
        else:
            sh.write_text(readme, new)
            print(f"{where}: rebuilt")
    if args.check and stale:
        print("run `python examples/rebuild_tables.py` to rebuild them")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
