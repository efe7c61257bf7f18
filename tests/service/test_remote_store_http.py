"""The service over an external SPARQL 1.1 server: the Oxigraph server from the `oxigraph` package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.server import ROOT, Server, auth, free_port

EXAMPLE = ROOT / "examples" / "cases" / "cg300-acute-approved.ttl"
OXIGRAPH = shutil.which("oxigraph", path=str(Path(sys.executable).parent))


@pytest.fixture(scope="module")
def sparql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert OXIGRAPH is not None, "the oxigraph server (PyPI package oxigraph) is a dev dependency"
    port = free_port()
    directory = tmp_path_factory.mktemp("oxigraph-server")
    process = subprocess.Popen(
        [OXIGRAPH, "serve", "--location", str(directory / "data"), "--bind", f"127.0.0.1:{port}"],
        stdout=(directory / "log").open("wb"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/query", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(30)


def _service(directory: Path, sparql_url: str) -> Server:
    return Server(directory, {
        "IPKG_STORE": "sparql",
        "IPKG_SPARQL_QUERY_URL": f"{sparql_url}/query",
        "IPKG_SPARQL_UPDATE_URL": f"{sparql_url}/update",
        "IPKG_SPARQL_GRAPH_STORE_URL": f"{sparql_url}/store",
    })


def test_service_on_an_external_sparql_server(tmp_path: Path, sparql_server: str) -> None:
    service = _service(tmp_path, sparql_server).start()
    try:
        assert httpx.get(f"{service.url}/health").json() == {**httpx.get(f"{service.url}/health").json(), "store": "sparql"}
        created = httpx.post(f"{service.url}/determinations", content=EXAMPLE.read_bytes(),
                             headers={**auth(), "content-type": "text/turtle"})
        assert created.status_code == 201 and created.json()["outcome"] == "approved"
        det_id = created.json()["id"]
        assert httpx.get(f"{service.url}/determinations/{det_id}", headers=auth()).json()["id"] == det_id
        report = httpx.get(f"{service.url}/determinations/{det_id}/report", headers=auth())
        assert report.status_code == 200 and "ValidationReport" in report.text
        listing = httpx.get(f"{service.url}/determinations", params={"outcome": "approved"}, headers=auth()).json()
        assert det_id in {item["id"] for item in listing["items"]}
        rows = httpx.get(f"{service.url}/sparql", headers=auth(), params={
            "query": "PREFIX ip: <https://w3id.org/ipkg/ontology#> SELECT ?o WHERE { ?d ip:outcome ?o }"}).json()
        assert rows["results"]["bindings"]
        # The determination's graphs are on the external server itself.
        direct = httpx.get(f"{sparql_server}/store", params={"graph": f"https://w3id.org/ipkg/graph/report/{det_id}"},
                           headers={"accept": "application/n-triples"})
        assert direct.status_code == 200 and "ValidationReport" in direct.text
    finally:
        service.stop()
    again = _service(tmp_path, sparql_server).start()
    try:
        assert httpx.get(f"{again.url}/determinations/{det_id}", headers=auth()).status_code == 200
    finally:
        again.stop()
