import os

# ogb's import asks PyPI for a newer version; offline that only warns.
os.environ.setdefault("OUTDATED_IGNORE", "1")
os.environ.setdefault("DGLBACKEND", "pytorch")
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: real-data runs of more than a few seconds (run in CI)"
    )


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """One torch thread: the tests' small ops gain nothing from more, and
    CI's two cores may be shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def data_root():
    """The offline benchmark data (shared/data next to the checkout)."""
    root = os.environ.get("DGL_DOSCOND_TEST_DATA")
    root = Path(root) if root else (REPO_ROOT / ".." / "shared" / "data")
    root = root.resolve()
    if not (root / "tu").is_dir() or not (root / "ogb").is_dir():
        pytest.fail(
            f"test data not found at {root} (expected tu/ and ogb/ in it); "
            "set DGL_DOSCOND_TEST_DATA to the shared/data folder"
        )
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """A writable cache shared by the tests of one session."""
    return tmp_path_factory.mktemp("dgl_doscond_cache")


@pytest.fixture(scope="session")
def mutag(data_root, cache_dir):
    from dgl_doscond.data import load_dataset

    return load_dataset("MUTAG", data_root=data_root, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def molbace(data_root, cache_dir):
    from dgl_doscond.data import load_dataset

    return load_dataset(
        "ogbg-molbace", data_root=data_root, cache_dir=cache_dir
    )
