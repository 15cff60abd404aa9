"""Helpers shared by the benchmark scripts of this folder."""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def default_data_root():
    """``$DGL_DOSCOND_DATA``, else ``../shared/data`` beside the repo."""
    env = os.environ.get("DGL_DOSCOND_DATA")
    if env:
        return env
    shared = os.path.join(REPO, "..", "shared", "data")
    return os.path.abspath(shared) if os.path.isdir(shared) else None


def add_output_options(parser, json_name):
    """The options every benchmark takes: ``--data-root``, ``--cache-dir``
    (``$DGL_DOSCOND_CACHE``, else ``~/.cache/dgl_doscond``), ``--json``
    (``results/JSON_NAME``) and ``--readme`` (this folder's README)."""
    parser.add_argument("--data-root", default=default_data_root())
    parser.add_argument(
        "--cache-dir",
        default=os.environ.get(
            "DGL_DOSCOND_CACHE", os.path.expanduser("~/.cache/dgl_doscond")
        ),
    )
    parser.add_argument(
        "--json", default=os.path.join(HERE, "results", json_name)
    )
    parser.add_argument("--readme", default=os.path.join(HERE, "README.md"))


def write_records(path, records, indent=1):
    """Write ``records`` as JSON to ``path`` (folders made), atomically."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(records, handle, indent=indent)
    os.replace(tmp, path)


def write_readme(path, table, name):
    """Put ``table`` between ``<!-- NAME:begin -->`` and ``:end -->`` in
    ``path`` (appended when the markers are missing), atomically."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = open(path).read() if os.path.exists(path) else ""
    block = f"{begin}\n{table}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = (text.rstrip() + "\n\n" if text else "") + block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
