from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.server import Server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One service for the read-mostly tests, preloaded with the example cases."""
    srv = Server(tmp_path_factory.mktemp("service"), {"IPKG_PRELOAD_EXAMPLES": "true"}).start(timeout=300)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture()
def fresh_dir(tmp_path: Path) -> Path:
    return tmp_path
