from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.knowledge import Knowledge, load_knowledge
from kb.repository import Repository
from kb.store.embedded import EmbeddedStore

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load_knowledge()


@pytest.fixture()
def repository(tmp_path: Path, knowledge: Knowledge) -> Iterator[Repository]:
    """A repository on a new embedded store holding the knowledge graphs."""
    store = EmbeddedStore(tmp_path / "store")
    try:
        repo = Repository(store, knowledge)
        repo.load_knowledge_graphs()
        yield repo
    finally:
        store.close()
