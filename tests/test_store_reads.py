"""Reads of the embedded store come from snapshots in store reader processes, not from the writer."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.store.embedded import EmbeddedStore

GRAPH = "https://w3id.org/ipkg/test/graph/"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
TRIPLE = (("u", "https://w3id.org/ipkg/test/s"), ("u", "https://w3id.org/ipkg/test/p"), ("l", "o", XSD_STRING, ""))


def _graph(n: int) -> dict[str, list]:  # type: ignore[type-arg]
    return {f"{GRAPH}{n}": [TRIPLE]}


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    opened = EmbeddedStore(tmp_path / "store", workers=1, readers=2, snapshot_interval=0.3, require_sandbox=False)
    try:
        yield opened
    finally:
        opened.close()


def _count(store: EmbeddedStore) -> int:
    outcome = store.query("SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", 10, 1)
    term = outcome.rows[0][0]
    assert term is not None
    return int(term[1])


def test_reads_are_answered_while_the_writer_is_stopped(store: EmbeddedStore) -> None:
    store.put_graphs(_graph(1))
    assert _count(store) == 1  # a snapshot holding the write now exists
    writer = store._process
    assert writer is not None and writer.pid is not None
    os.kill(writer.pid, signal.SIGSTOP)  # the writer answers nothing until it is continued
    try:
        started = time.monotonic()
        assert store.graph(f"{GRAPH}1") == [TRIPLE]
        assert store.graph(f"{GRAPH}1") == [TRIPLE]
        assert _count(store) == 1
        assert store.graph_names(GRAPH) == [f"{GRAPH}1"]
        assert time.monotonic() - started < 5
    finally:
        os.kill(writer.pid, signal.SIGCONT)


def test_a_graph_just_written_is_read_back_at_once(store: EmbeddedStore) -> None:
    for n in range(5):
        store.put_graphs(_graph(n))
        assert store.graph(f"{GRAPH}{n}") == [TRIPLE], f"graph {n} was not read back after its write"
        assert _count(store) == n + 1
    assert store.graph(f"{GRAPH}absent") is None


def test_a_graph_no_write_touched_since_the_newest_snapshot_is_read_without_a_new_one(store: EmbeddedStore) -> None:
    store.put_graphs(_graph(1))
    assert store.graph(f"{GRAPH}1") == [TRIPLE]
    made = store.snapshots.made
    store.put_graphs(_graph(2))
    assert store.graph(f"{GRAPH}1") == [TRIPLE]
    assert store.graph(f"{GRAPH}absent") is None
    assert store.snapshots.made == made, "graphs the newest snapshot holds exactly need no new snapshot"
    assert store.graph(f"{GRAPH}2") == [TRIPLE]
    assert store.snapshots.made == made, "a graph written since the newest snapshot is answered by the writer"
    assert store.graph_names(f"{GRAPH}2") == [f"{GRAPH}2"]
    assert store.snapshots.made == made + 1


def test_a_graph_just_written_is_read_back_without_waiting_for_a_snapshot(tmp_path: Path) -> None:
    """With snapshots at most one a minute, a read right after a write cannot have waited for one."""
    store = EmbeddedStore(tmp_path / "store", workers=1, readers=1, snapshot_interval=60, require_sandbox=False)
    try:
        store.put_graphs(_graph(0))
        assert _count(store) == 1  # the first snapshot: the next one may not be made for a minute
        started = time.monotonic()
        for n in range(1, 4):
            store.put_graphs(_graph(n))
            assert store.graph(f"{GRAPH}{n}") == [TRIPLE]
        store.drop_graphs([f"{GRAPH}1"])
        assert store.graph(f"{GRAPH}1") is None
        assert store.graph(f"{GRAPH}0") == [TRIPLE]
        assert time.monotonic() - started < 30
        assert store.snapshots.made == 1
    finally:
        store.close()


def test_a_dropped_graph_is_never_read_from_an_older_snapshot(store: EmbeddedStore) -> None:
    store.put_graphs(_graph(1))
    assert store.graph(f"{GRAPH}1") == [TRIPLE]
    store.drop_graphs([f"{GRAPH}1"])
    assert store.graph(f"{GRAPH}1") is None


def test_waiting_readers_share_one_snapshot_and_snapshots_keep_their_rate(store: EmbeddedStore) -> None:
    store.put_graphs(_graph(0))
    store.graph(f"{GRAPH}0")
    made = store.snapshots.made
    store.put_graphs(_graph(1))
    results: list[int] = []

    def read() -> None:
        results.append(_count(store))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [2] * 8
    assert store.snapshots.made == made + 1, "eight readers waiting for the same write share one snapshot"

    started = time.monotonic()
    before = store.snapshots.made
    for n in range(2, 7):
        store.put_graphs(_graph(n))
        assert _count(store) == n + 1
    elapsed = time.monotonic() - started
    made_now = store.snapshots.made - before
    assert made_now == 5
    assert elapsed >= (made_now - 1) * store.snapshots.interval, "snapshots were made faster than their interval"


def test_snapshots_no_reader_holds_are_deleted(store: EmbeddedStore) -> None:
    for n in range(6):
        store.put_graphs(_graph(n))
        assert _count(store) == n + 1
    # At most one per process that holds one (2 store readers, 1 SPARQL worker) plus the newest.
    assert len(store.snapshots.on_disk()) <= 4


def test_a_determination_just_posted_is_readable_by_its_id_and_listed(tmp_path: Path) -> None:
    """Over the API: each POST /determinations answered 201 is found at once by GET, by id and in the list."""
    from fastapi.testclient import TestClient

    from api.deps import get_settings
    from api.main import app
    from api.settings import Settings, TokenGrant

    token = "read-your-writes"
    settings = Settings(
        store_path=tmp_path / "store",
        audit_log=tmp_path / "audit.log",
        tokens={token: TokenGrant(name="test", scopes=["read", "write"])},
        case_workers=1,
        store_snapshot_interval_ms=500,  # a long interval: reads must not depend on a snapshot being due
    )
    headers = {"Authorization": f"Bearer {token}"}
    case = sorted(Path("examples/cases").glob("*.ttl"))[0].read_bytes()
    app.dependency_overrides[get_settings] = lambda: settings
    try:
        with TestClient(app) as client:
            for n in range(3):
                posted = client.post("/determinations", content=case, headers={**headers, "content-type": "text/turtle"})
                assert posted.status_code == 201, posted.text
                det_id = posted.json()["id"]
                read = client.get(f"/determinations/{det_id}", headers=headers)
                assert read.status_code == 200, read.text
                assert read.json() == posted.json()
                listed = client.get("/determinations", params={"limit": 200}, headers=headers).json()
                assert det_id in {item["id"] for item in listed["items"]}
                assert listed["total"] == len(listed["items"]) == n + 1
                instants = [item["determinedAt"] for item in listed["items"]]
                assert instants == sorted(instants, reverse=True), "the list is newest first"
                page = client.get("/determinations", params={"limit": 1, "offset": n}, headers=headers).json()
                assert page["total"] == n + 1 and [i["id"] for i in page["items"]] == [listed["items"][-1]["id"]]
    finally:
        app.dependency_overrides.clear()


def test_a_reader_that_opened_its_share_of_snapshots_is_replaced(tmp_path: Path) -> None:
    """Each snapshot a reader opens leaves memory behind; after ``reader_max_opens`` it is replaced."""
    store = EmbeddedStore(
        tmp_path / "store", workers=1, readers=1, snapshot_interval=0, require_sandbox=False, reader_max_opens=2
    )
    try:
        first = store.reader_pids()
        for n in range(4):
            store.put_graphs(_graph(n))
            assert _count(store) == n + 1  # a new snapshot each time, opened by the one reader
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (set(store.reader_pids()) - set(first)):
            time.sleep(0.2)
        readers = store.reader_pids()
        assert first[0] not in readers, "the reader was not replaced after opening its share of snapshots"
        assert store.graph(f"{GRAPH}3") == [TRIPLE]
    finally:
        store.close()


def test_graph_names_of_a_bulk_write_are_not_kept_without_bound(tmp_path: Path) -> None:
    from kb.store import snapshots as snapshot_module

    made: list[str] = []

    def make(target: str) -> None:
        Path(target).mkdir()
        made.append(target)

    snaps = snapshot_module.Snapshots(tmp_path / "snapshots", make, interval=0)
    snaps.note_write(f"{GRAPH}{n}" for n in range(snapshot_module.MAX_TRACKED_GRAPHS + 1))
    assert len(snaps._touched) == 0
    assert snaps.needed_for_graph(f"{GRAPH}never-written") == snaps.written() == 1
    assert snaps.needed_for_prefix(GRAPH) == 1
    path, generation = snaps.acquire(snaps.needed_for_graph(f"{GRAPH}1"), time.monotonic() + 5)
    assert generation == 1 and made == [path]
    assert snaps.needed_for_graph(f"{GRAPH}1") == 0  # the new snapshot holds every write
    snaps.release(path)
    assert snaps.on_disk() == [path]  # the newest one stays


def test_a_reader_near_its_planned_leave_has_its_successor_ready_before_it_goes(tmp_path: Path) -> None:
    """No read waits for a store reader to start: the successor loads while the old reader still serves."""
    store = EmbeddedStore(
        tmp_path / "store", workers=1, readers=1, snapshot_interval=0, require_sandbox=False, reader_max_opens=10
    )
    try:
        pool = store._reader_pool()
        first = pool.pids()
        assert len(first) == 1
        started = pool._workers.started
        for n in range(8):  # opens 1..8 by the one reader: its successor starts at open 9 (10 - 1)
            store.put_graphs(_graph(n))
            assert _count(store) == n + 1
        assert pool._workers.started == started, "a successor started too early"
        store.put_graphs(_graph(8))
        assert _count(store) == 9
        assert pool._workers.started == started + 1, "the successor did not start ahead of the leave"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(pool.pids()) < 2:
            time.sleep(0.1)
        assert pool.pids()[0] == first[0] or first[0] in pool.pids(), "the old reader left before its successor was ready"
        assert len(pool.pids()) == 2
        n = 9
        while first[0] in pool.pids() and n < 40:  # reads go on; the old reader leaves at its tenth open
            store.put_graphs(_graph(n))
            n += 1
            assert _count(store) == n
        assert first[0] not in pool.pids(), "the old reader did not leave after its share of snapshots"
        assert pool._workers.started == started + 1, "the planned leave started a second replacement"
    finally:
        store.close()
