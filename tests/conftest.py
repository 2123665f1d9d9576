"""Shared test fixtures: where the real third-party data lives."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        # CI always has shared/ beside the clone; elsewhere say why the data tests did not run.
        if os.environ.get("CI"):
            pytest.fail(f"shared data not found at {SHARED_DATA}")
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def laion_texts(shared_data) -> list[str]:
    """The TEXT column of the LAION-style rows (img2dataset_test_1000.parquet), None left out."""
    import pyarrow.parquet as pq

    table = pq.read_table(shared_data / "real" / "img2dataset_test_1000.parquet", columns=["TEXT"])
    return [text for text in table.column("TEXT").to_pylist() if text is not None]
