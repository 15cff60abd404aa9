"""Data-parallel condensation on ``torch.distributed``.

The processes of a job (launched by ``torchrun``) hold the same synthetic
set and draw the same backbone, real batches and Gumbel noise every outer
iteration (all are seeded by the iteration). They split the work of the
iteration in one of two ways:

``"classes"``
    Every rank matches a share of the matching groups (the classes; group
    ``i`` goes to rank ``i % P``) and the gradients of the synthetic
    features and edge logits are summed over the ranks by an all-reduce.
    Chosen when the groups divide evenly over the ranks.
``"batch"``
    Every rank computes the real gradient of a share of each group's real
    batch; the shares are combined by an all-reduce (weighted by the number
    of labels in each share, so the result is the gradient of the whole
    batch) and the synthetic side is computed by every rank. Chosen
    otherwise, e.g. for one mixed group.

Either way every rank applies the same update, so the synthetic sets stay
identical and equal, up to the order of floating-point sums, to those of a
single process with the same seed.
"""

import contextlib
import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = [
    "SPLITS",
    "Ranks",
    "init_from_env",
    "main_first",
    "shutdown",
    "work_split",
]

SPLITS = ("auto", "classes", "batch")

_TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")


@dataclass(frozen=True)
class Ranks:
    """This process's place in a job.

    Attributes
    ----------
    rank : int
        0 .. world_size - 1; rank 0 writes outputs and logs.
    world_size : int
        Number of processes.
    split : str
        ``"auto"``, ``"classes"`` or ``"batch"`` (see the module doc).
    """

    rank: int = 0
    world_size: int = 1
    split: str = "auto"

    def __post_init__(self):
        if self.split not in SPLITS:
            raise ValueError(
                f"split must be one of {', '.join(SPLITS)}, got {self.split!r}."
            )
        if not 0 <= self.rank < self.world_size:
            raise ValueError(
                f"rank {self.rank} is outside a world of {self.world_size}."
            )

    @property
    def is_main(self):
        return self.rank == 0

    @classmethod
    def current(cls, split="auto"):
        """The ranks of the initialised default process group."""
        if not dist.is_available() or not dist.is_initialized():
            raise RuntimeError(
                "torch.distributed is not initialised: call "
                "dgl_doscond.distributed.init_from_env() (under torchrun) "
                "or torch.distributed.init_process_group() first."
            )
        return cls(dist.get_rank(), dist.get_world_size(), split)


def init_from_env(device="cpu", split="auto", timeout_minutes=30):
    """Join the job that ``torchrun`` started this process in.

    Reads ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR`` /
    ``MASTER_PORT`` from the environment and initialises the default
    process group: gloo on the CPU, NCCL on CUDA, where each process takes
    the GPU of its local rank.

    Parameters
    ----------
    device : str
        ``"cpu"`` or ``"cuda"``.
    split : str
        How ranks share an iteration (see the module doc).
    timeout_minutes : float
        How long a collective may wait for the other ranks.

    Returns
    -------
    (Ranks, torch.device)
        This process's ranks and the device it should compute on.
    """
    missing = [name for name in _TORCHRUN_VARS if name not in os.environ]
    if missing:
        raise RuntimeError(
            "--distributed runs under torchrun, which sets "
            f"{', '.join(_TORCHRUN_VARS)}; {', '.join(missing)} "
            "not set. Launch with e.g. 'torchrun --standalone "
            "--nproc-per-node 2 -m dgl_doscond condense ... --distributed'."
        )
    device = torch.device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(
            backend,
            timeout=datetime.timedelta(minutes=timeout_minutes),
        )
    return Ranks.current(split), device


def shutdown():
    """Leave the process group, if one was joined: all ranks meet at a
    barrier first, so that none tears down its connections while another
    still talks to it (gloo can hang at exit otherwise)."""
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


@contextlib.contextmanager
def main_first(ranks):
    """Run the block on rank 0 first, then on the other ranks.

    Used around dataset loading, so that rank 0 alone writes the loader
    caches and the others read them once they exist.
    """
    if ranks is None or ranks.world_size == 1:
        yield
        return
    if not ranks.is_main:
        dist.barrier()
    try:
        yield
    finally:
        if ranks.is_main:
            dist.barrier()


def work_split(num_groups, ranks):
    """The split an iteration uses: None for one process, else
    ``"classes"`` or ``"batch"``."""
    if ranks is None or ranks.world_size == 1:
        return None
    if ranks.split != "auto":
        if ranks.split == "classes" and num_groups < ranks.world_size:
            raise ValueError(
                f"split 'classes' needs at least one matching group per "
                f"rank: {num_groups} group(s) for {ranks.world_size} ranks; "
                "use split 'batch' or 'auto'."
            )
        return ranks.split
    return "classes" if num_groups % ranks.world_size == 0 else "batch"


def all_reduce_sum(tensors):
    """Sum a list of tensors over the ranks, in one collective, in place."""
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()
    return tensors


def any_rank(flag, device):
    """True on every rank when ``flag`` is true on at least one."""
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def barrier():
    dist.barrier()
