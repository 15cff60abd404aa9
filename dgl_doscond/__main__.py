"""``python -m dgl_doscond``: the command line (also for ``torchrun -m``)."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="dgl-doscond")
