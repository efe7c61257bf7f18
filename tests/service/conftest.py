from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.server import PRELOADED, Server, running


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One service for the read-mostly tests, preloaded with the example cases."""
    with running(tmp_path_factory.mktemp("service"), PRELOADED, timeout=300) as srv:
        yield srv


@pytest.fixture()
def fresh_dir(tmp_path: Path) -> Path:
    return tmp_path
