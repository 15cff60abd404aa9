import importlib.util
import os
import re

import click

from dgl_doscond.cli import main

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs")


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_cli", os.path.join(DOCS, "gen_cli.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current():
    with open(os.path.join(DOCS, "cli.md"), encoding="utf-8") as handle:
        committed = handle.read()
    assert committed == _generator().render(), (
        "docs/cli.md is out of date: run `python docs/gen_cli.py`"
    )


def test_cli_reference_names_every_option():
    with open(os.path.join(DOCS, "cli.md"), encoding="utf-8") as handle:
        text = handle.read()
    for name, command in main.commands.items():
        assert f"## `dgl-doscond {name}`" in text
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.opts[0] in text, (name, param.opts[0])


def test_docs_links_resolve():
    for page in os.listdir(DOCS):
        if not page.endswith(".md"):
            continue
        with open(os.path.join(DOCS, page), encoding="utf-8") as handle:
            text = handle.read()
        for target in re.findall(r"\]\(([^)#]+\.md)\)", text):
            assert os.path.exists(os.path.join(DOCS, target)), (page, target)


def test_docs_build_strictly_offline(tmp_path):
    import subprocess
    import sys

    repo = os.path.join(DOCS, "..")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "gallery" / "index.html").exists()
    assert (tmp_path / "site" / "figures" / "graphs.png").exists()
