"""The allocator tuning: what glibc reports after it, and the switch."""

import ctypes
import json
import os
import platform
import subprocess
import sys

import pytest

from dgl_doscond.runtime import tune_allocator

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="mallopt is glibc's",
)

# Run in a child: the thresholds are process-wide, and the test must see
# the untuned allocator first.
_PROBE = """
import ctypes, json, sys

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
        "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
import torch
from dgl_doscond.runtime import tune_allocator

def mapped_after_alloc():
    before = libc.mallinfo2().hblkhd
    block = torch.empty(64 * 2**20, dtype=torch.uint8)
    grown = libc.mallinfo2().hblkhd - before
    del block
    return grown

untuned = mapped_after_alloc()
taken = tune_allocator()
tuned = mapped_after_alloc()
block = torch.empty(64 * 2**20, dtype=torch.uint8)
del block
kept = libc.mallinfo2().fordblks  # freed bytes the heap keeps for reuse
print(json.dumps({"untuned": untuned, "taken": taken, "tuned": tuned,
                  "kept": kept}))
"""


@glibc
def test_tuned_allocator_keeps_large_blocks_in_the_heap():
    if not hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2"):
        pytest.skip("glibc older than 2.33 has no mallinfo2")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["OUTDATED_IGNORE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["taken"] is True
    # glibc's default maps a 64 MiB block on its own and unmaps it on free;
    # tuned, the block comes from the heap and stays there once freed.
    assert probe["untuned"] >= 64 * 2**20
    assert probe["tuned"] == 0
    assert probe["kept"] >= 64 * 2**20


def test_tune_allocator_rejects_values_beyond_a_c_int():
    with pytest.raises(ValueError, match="C ints"):
        tune_allocator(mmap_threshold=2**31)
    with pytest.raises(ValueError, match="C ints"):
        tune_allocator(top_pad=-1)


@glibc
@pytest.mark.parametrize("switch, tuned", [(None, True), ("0", False)])
def test_command_line_tunes_unless_switched_off(switch, tuned):
    from click.testing import CliRunner

    from dgl_doscond.cli import main

    env = {} if switch is None else {"DGL_DOSCOND_MALLOC_TUNING": switch}
    result = CliRunner().invoke(main, ["-v", "datasets"], env=env)
    assert result.exit_code == 0, result.output
    assert ("allocator tuned: True" in result.output) is tuned
