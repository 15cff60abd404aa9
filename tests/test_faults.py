"""Faults: signals, resumption, non-finite runs and writes killed midway."""

import importlib
import os
import random
import select
import signal
import subprocess
import sys
import time

import dgl
import pytest
import torch
from click.testing import CliRunner

import dgl_doscond.cli as cli
from dgl_doscond import load_config
from dgl_doscond.condense import (
    CondensationInterrupted,
    NonFiniteLossError,
    StopRequest,
    condense,
)
from dgl_doscond.io import load_condensed, manifest_path, save_condensed

# The package exports a function named like the module: take the module.
condense_module = importlib.import_module("dgl_doscond.condense")


@pytest.fixture
def env(data_root, cache_dir):
    return {
        "DGL_DOSCOND_DATA": str(data_root),
        "DGL_DOSCOND_CACHE": str(cache_dir),
    }


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread here, as OMP_NUM_THREADS=1 gives a subprocess:
    bit-identical results need the same thread count (and on a busy
    machine one thread is much faster)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _cli(env, *args, quiet=True):
    return CliRunner().invoke(
        cli.main,
        [*(["-q"] if quiet else []), *args],
        env=env,
        catch_exceptions=False,
    )


def _condense_args(out, epochs, *extra):
    return [
        "condense",
        "--dataset",
        "MUTAG",
        "--gpc",
        "1",
        "--seed",
        "0",
        "--epochs",
        str(epochs),
        "--out",
        str(out),
        *extra,
    ]


def _assert_same_set(path_a, path_b):
    graphs_a, labels_a, manifest_a = load_condensed(str(path_a))
    graphs_b, labels_b, manifest_b = load_condensed(str(path_b))
    assert torch.equal(labels_a, labels_b)
    assert len(graphs_a) == len(graphs_b)
    for a, b in zip(graphs_a, graphs_b):
        assert torch.equal(a.edges()[0], b.edges()[0])
        assert torch.equal(a.edges()[1], b.edges()[1])
        assert torch.equal(a.ndata["feat"], b.ndata["feat"])
    assert manifest_a["config"] == manifest_b["config"]
    assert manifest_a["history"] == manifest_b["history"]
    assert manifest_a["content_sha256"] == manifest_b["content_sha256"]


# -- signals and resumption ---------------------------------------------


def test_sigterm_mid_run_then_resume_equals_straight_run(tmp_path, env):
    every = ("--checkpoint-every", "5")
    straight = tmp_path / "straight.bin"
    assert _cli(env, *_condense_args(straight, 40, *every)).exit_code == 0

    out = tmp_path / "stopped.bin"
    ckpt = str(out) + ".ckpt"
    args = _condense_args(out, 40, *every)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dgl_doscond.cli", "-q", *args],
        cwd=tmp_path,
        env={**os.environ, **env, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not os.path.exists(ckpt):  # the first periodic checkpoint
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 143, stderr
    assert "interrupted at iteration" in stderr and ckpt in stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    assert not out.exists() and not os.path.exists(manifest_path(str(out)))
    stopped_at = torch.load(ckpt, weights_only=True)["iteration"]
    assert 5 <= stopped_at < 40

    resumed = _cli(env, *args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert not os.path.exists(ckpt)
    _assert_same_set(straight, out)


def test_sigint_checkpoints_exits_130_and_resumes(tmp_path, env, monkeypatch):
    real = condense_module.temperature

    def temperature(iteration, *args):
        if iteration == 3:  # a real SIGINT in the middle of iteration 3
            assert signal.getsignal(signal.SIGINT) is not previous
            os.kill(os.getpid(), signal.SIGINT)
        return real(iteration, *args)

    previous = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(condense_module, "temperature", temperature)
    out = tmp_path / "x.bin"
    args = _condense_args(out, 8, "--checkpoint-every", "0")
    result = _cli(env, *args)
    assert result.exit_code == 130, result.output
    assert "interrupted at iteration 4;" in result.output
    assert f"checkpoint at '{out}.ckpt'" in result.output
    assert signal.getsignal(signal.SIGINT) is previous  # restored
    assert not out.exists() and os.path.exists(f"{out}.ckpt")

    monkeypatch.undo()
    assert _cli(env, *args, "--resume").exit_code == 0
    straight = tmp_path / "straight.bin"
    args = _condense_args(straight, 8, "--checkpoint-every", "0")
    assert _cli(env, *args).exit_code == 0
    _assert_same_set(straight, out)


def test_signal_outside_the_loop_stops_at_once(tmp_path, env, monkeypatch):
    def load(*args):
        assert signal.getsignal(signal.SIGINT) is not previous
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("the signal did not stop the command")

    previous = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(cli, "_load", load)
    out = tmp_path / "x.bin"
    result = _cli(env, *_condense_args(out, 8))
    assert result.exit_code == 130
    assert "interrupted by SIGINT" in result.output
    assert "nothing was written" in result.output
    assert os.listdir(tmp_path) == []


def test_resume_without_checkpoint_starts_from_scratch(tmp_path, env):
    out = tmp_path / "x.bin"
    args = _condense_args(out, 4, "--checkpoint-every", "1", "--resume")
    result = _cli(env, *args, quiet=False)
    assert result.exit_code == 0, result.output
    assert "no checkpoint at" in result.output
    assert "starting from scratch" in result.output
    assert sorted(os.listdir(tmp_path)) == ["x.bin", "x.json"]  # no .ckpt


def test_same_seed_same_file(tmp_path, env):
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    assert _cli(env, *_condense_args(first, 3)).exit_code == 0
    assert _cli(env, *_condense_args(second, 3)).exit_code == 0
    _assert_same_set(first, second)
    other = tmp_path / "c.bin"
    assert _cli(env, *_condense_args(other, 3), "--seed", "1").exit_code == 0
    assert (
        load_condensed(str(other))[2]["content_sha256"]
        != load_condensed(str(first))[2]["content_sha256"]
    )


def _config(**options):
    base = {"epochs": 4, "batch_real": 16, "checkpoint_every": 2}
    return load_config("MUTAG", overrides={"condense": base | options})


def test_stop_request_without_checkpoint_path(mutag):
    stop = StopRequest()
    stop.set("test")
    with pytest.raises(CondensationInterrupted, match="iteration 1;"):
        condense(mutag, _config(), seed=0, stop=stop)
    assert not stop.listening


def test_checkpoint_of_another_run_is_refused(mutag, tmp_path):
    path = str(tmp_path / "run.ckpt")
    stop = StopRequest()
    stop.set()
    with pytest.raises(CondensationInterrupted):
        condense(mutag, _config(), seed=0, checkpoint_path=path, stop=stop)
    with pytest.raises(ValueError, match="seed=0, but this run has seed=1"):
        condense(mutag, _config(), seed=1, checkpoint_path=path, resume=True)
    with pytest.raises(
        ValueError, match="gpc=1, but this run has condense.gpc=2"
    ):
        condense(
            mutag, _config(gpc=2), seed=0, checkpoint_path=path, resume=True
        )
    with open(path, "wb") as handle:
        handle.write(b"garbage")
    with pytest.raises(ValueError, match="cannot be read.*delete it"):
        condense(mutag, _config(), seed=0, checkpoint_path=path, resume=True)


# -- non-finite runs ----------------------------------------------------


def test_non_finite_run_keeps_the_last_good_checkpoint(tmp_path, env):
    config = tmp_path / "hot.yaml"
    config.write_text("condense:\n  lr_feat: 1.0e+30\n  lr_adj: 1.0e+30\n")
    out = tmp_path / "x.bin"
    args = _condense_args(out, 30, "--checkpoint-every", "1")
    result = _cli(env, *args, "--config", str(config))

    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "at iteration" in result.output and "too high" in result.output
    assert f"kept at '{out}.ckpt'" in result.output
    assert not out.exists()
    state = torch.load(f"{out}.ckpt", weights_only=True)
    for tensor in state["synthetic"].values():
        assert torch.isfinite(tensor.float()).all()


def test_non_finite_loss_names_no_checkpoint_without_one(mutag):
    config = _config(lr_feat=1e30, lr_adj=1e30, epochs=30)
    with pytest.raises(NonFiniteLossError, match="too high") as err:
        condense(mutag, config, seed=0)
    assert "checkpoint" not in str(err.value)


# -- writes killed midway -----------------------------------------------


def _toy_set(seed, num_graphs=48, num_nodes=200):
    gen = torch.Generator().manual_seed(seed)
    graphs = []
    for _ in range(num_graphs):
        src = torch.randint(num_nodes, (600,), generator=gen)
        dst = torch.randint(num_nodes, (600,), generator=gen)
        graph = dgl.graph(
            (torch.cat([src, dst]), torch.cat([dst, src])),
            num_nodes=num_nodes,
        )
        graph.ndata["feat"] = torch.randn(num_nodes, 32, generator=gen)
        graphs.append(graph)
    return graphs, torch.arange(num_graphs) % 2


def _is_version(path, versions):
    """The version number the set at ``path`` holds, checked in full."""
    graphs, labels, manifest = load_condensed(str(path))
    expected_graphs, expected_labels = versions[manifest["version"]]
    assert torch.equal(labels, expected_labels)
    assert len(graphs) == len(expected_graphs)
    for a, b in zip(graphs, expected_graphs):
        assert torch.equal(a.ndata["feat"], b.ndata["feat"])
    return manifest["version"]


def _fork(child):
    """Run ``child()`` in a forked process; return its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            child()
            code = 0
        finally:
            os._exit(code)
    return pid


def _killed(pid):
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def _visible(folder):
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


def test_kill_at_random_moments_never_leaves_a_partial_set(tmp_path):
    versions = {v: _toy_set(v) for v in range(3)}
    path = tmp_path / "set.bin"
    save_condensed(str(path), *versions[0], {"version": 0})
    rng, saves = random.Random(0), 0

    for _ in range(4):
        read_end, write_end = os.pipe()

        def child(write_end=write_end):
            for i in range(10_000):
                version = 1 + i % 2
                save_condensed(
                    str(path),
                    *versions[version],
                    {"version": version},
                    force=True,
                )
                os.write(write_end, b".")

        pid = _fork(child)
        os.close(write_end)
        assert select.select([read_end], [], [], 30)[0], "child is stuck"
        time.sleep(rng.uniform(0.0, 0.2))
        os.kill(pid, signal.SIGKILL)
        assert _killed(pid)
        saves += len(os.read(read_end, 1 << 16))
        os.close(read_end)

        assert _is_version(path, versions) in (1, 2)
        assert _visible(tmp_path) == ["set.bin", "set.json"]
    assert saves >= 4  # the kills did land among completed saves


def _kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


def test_kill_while_writing_the_bin_keeps_the_old_set(tmp_path):
    versions = {v: _toy_set(v, num_graphs=8) for v in range(2)}
    path = tmp_path / "set.bin"
    save_condensed(str(path), *versions[0], {"version": 0})
    before = path.read_bytes()

    def child():
        real = dgl.save_graphs

        def half_then_die(tmp, graphs, labels):
            real(tmp, graphs, labels)
            data = open(tmp, "rb").read()
            with open(tmp, "wb") as handle:  # a truncated temporary file
                handle.write(data[: len(data) // 2])
            _kill_self()

        dgl.save_graphs = half_then_die
        save_condensed(str(path), *versions[1], {"version": 1}, force=True)

    assert _killed(_fork(child))
    assert path.read_bytes() == before
    assert _is_version(path, versions) == 0
    assert _visible(tmp_path) == ["set.bin", "set.json"]


def test_kill_between_the_two_renames_loads_the_new_set(tmp_path):
    versions = {v: _toy_set(v, num_graphs=8) for v in range(2)}
    path = tmp_path / "set.bin"
    save_condensed(str(path), *versions[0], {"version": 0})

    def child():
        real = os.replace

        def replace_then_die(src, dst):
            real(src, dst)
            if str(dst).endswith(".bin"):  # the manifest is not renamed yet
                _kill_self()

        os.replace = replace_then_die
        save_condensed(str(path), *versions[1], {"version": 1}, force=True)

    assert _killed(_fork(child))
    assert _is_version(path, versions) == 1
    assert _visible(tmp_path) == ["set.bin", "set.json"]


def test_outputs_get_the_usual_file_mode(tmp_path):
    path = tmp_path / "set.bin"
    save_condensed(str(path), *_toy_set(0, num_graphs=2), {})
    umask = os.umask(0)
    os.umask(umask)
    for name in ("set.bin", "set.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
