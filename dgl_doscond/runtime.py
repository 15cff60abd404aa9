"""Process-wide settings that make CPU runs faster.

PyTorch's CPU allocator hands every freed block back to ``malloc``, and
glibc's ``malloc`` serves large blocks with ``mmap`` and returns them to
the system as soon as they are freed. A condensation step allocates and
frees the same activations every iteration (on DD, one hidden layer of
a real batch is tens of megabytes), so each iteration
maps fresh pages and pays a page fault for every 4 KiB of them.
:func:`tune_allocator` raises glibc's thresholds so that freed blocks stay
in the heap and are reused; ``benchmarks/bench_allocator.py`` measures
what it saves.
"""

import ctypes
import ctypes.util
import platform

__all__ = ["tune_allocator"]

# mallopt(3) parameters.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_INT_MAX = 2**31 - 1


def tune_allocator(
    mmap_threshold=1 << 30, trim_threshold=1 << 30, top_pad=1 << 28
):
    """Keep freed large blocks in the process for reuse (glibc only).

    The command line calls this at start (set ``DGL_DOSCOND_MALLOC_TUNING=0``
    to skip it); a Python program may call it once, before its first large
    tensor. The process then keeps up to ``trim_threshold`` bytes of freed
    memory instead of returning it, so its resident size after a peak
    falls later than it would.

    Parameters
    ----------
    mmap_threshold : int
        Blocks at least this large are still given their own ``mmap``.
    trim_threshold : int
        Free memory at the top of the heap above this is returned to the
        system.
    top_pad : int
        Extra bytes requested whenever the heap grows.

    Returns
    -------
    bool
        True when every setting was taken; False where the C library is
        not glibc (nothing is changed there).
    """
    values = (mmap_threshold, trim_threshold, top_pad)
    if any(not 0 <= v <= _INT_MAX for v in values):
        raise ValueError(f"mallopt values are C ints in [0, {_INT_MAX}].")
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    taken = [
        mallopt(_M_MMAP_THRESHOLD, mmap_threshold),
        mallopt(_M_TRIM_THRESHOLD, trim_threshold),
        mallopt(_M_TOP_PAD, top_pad),
    ]
    return all(t == 1 for t in taken)
