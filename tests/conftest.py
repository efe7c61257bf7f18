from __future__ import annotations

from pathlib import Path

import pytest

from kb.knowledge import Knowledge, load_knowledge

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load_knowledge()
