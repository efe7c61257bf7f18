"""The pages over HTTP: content negotiation, what a page without a token holds, machine clients unchanged."""

from __future__ import annotations

import datetime as dt
import json

import httpx
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, XML, SPARQLWrapper

from kb.namespaces import IP
from tests.service.server import READ_TOKEN, ROOT, WRITE_TOKEN, Server, auth

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
HTML = {"accept": BROWSER}
ASK = "ASK { ?s ?p ?o }"


def _first(server: Server, **filters: str) -> dict[str, str]:
    listed = httpx.get(f"{server.url}/determinations", params={**filters, "limit": 200}, headers=auth(READ_TOKEN)).json()
    return dict(sorted(listed["items"], key=lambda i: i["id"])[0])


def test_sparql_editor_for_browsers_only(server: Server) -> None:
    page = httpx.get(f"{server.url}/sparql", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "http" not in csp
    assert '<script src="/static/yasgui/yasgui.min.js"' in page.text
    assert "<script>" not in page.text, "no inline script"
    examples = httpx.get(f"{server.url}/sparql/examples").json()
    embedded = page.text.split('id="cookbook-examples">', 1)[1].split("</script>", 1)[0]
    assert [e["query"] for e in json.loads(embedded)] == [e["query"] for e in examples]
    assert httpx.get(f"{server.url}/static/yasgui/yasgui.min.js").status_code == 200
    # Machine clients: no Accept, */*, or a result type: the protocol (a token is needed).
    assert httpx.get(f"{server.url}/sparql").status_code == 401
    assert httpx.get(f"{server.url}/sparql", headers={"accept": "*/*"}).status_code == 401
    assert httpx.get(f"{server.url}/sparql", headers={"accept": "application/sparql-results+json"}).status_code == 401
    # A browser sending a query gets the protocol's answer, not the editor.
    browsing = httpx.get(f"{server.url}/sparql", params={"query": ASK}, headers={**HTML, **auth(READ_TOKEN)})
    assert browsing.status_code == 200 and "<sparql" in browsing.text
    assert httpx.get(f"{server.url}/sparql", params={"query": ASK}, headers=HTML).status_code == 401


def test_machine_clients_keep_the_protocol(server: Server) -> None:
    for fmt in (JSON, XML):
        client = SPARQLWrapper(f"{server.url}/sparql")
        client.addCustomHttpHeader("Authorization", f"Bearer {READ_TOKEN}")
        client.setQuery("SELECT ?id WHERE { ?c <https://w3id.org/ipkg/ontology#criterionId> ?id } LIMIT 3")
        client.setReturnFormat(fmt)
        result = client.query().convert()
        rows = result["results"]["bindings"] if fmt == JSON else result.getElementsByTagName("result")
        assert len(rows) == 3
    store = SPARQLStore(f"{server.url}/sparql", headers=auth(READ_TOKEN))
    assert len(list(Graph(store).query("SELECT ?c WHERE { ?c a <https://w3id.org/ipkg/ontology#Contraindication> }"))) > 0
    curl_like = httpx.get(f"{server.url}/sparql", params={"query": ASK}, headers={**auth(READ_TOKEN), "accept": "*/*"})
    assert curl_like.json() == {"head": {}, "boolean": True}


def test_determination_shell_holds_no_data(server: Server) -> None:
    item = _first(server, outcome="denied")
    shell = httpx.get(f"{server.url}/determinations/{item['id']}", headers=HTML)
    assert shell.status_code == 200 and "data-token-form" in shell.text and 'data-shell="true"' in shell.text
    assert item["id"] not in shell.text and "data-outcome" not in shell.text
    listing = httpx.get(f"{server.url}/determinations", headers=HTML)
    assert listing.status_code == 200 and item["id"] not in listing.text
    # A token that is wrong is refused whatever the Accept.
    wrong = httpx.get(f"{server.url}/determinations/{item['id']}", headers={**HTML, "authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert httpx.get(f"{server.url}/determinations/{item['id']}").status_code == 401


def test_determination_page_with_token(server: Server) -> None:
    item = _first(server, outcome="pended")
    machine = httpx.get(f"{server.url}/determinations/{item['id']}", headers=auth(READ_TOKEN)).json()
    page = httpx.get(f"{server.url}/determinations/{item['id']}", headers={**HTML, **auth(READ_TOKEN)})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert 'data-outcome>pended<' in text
    for result in machine["criteria"]:
        assert f'href="/ontology#{result["criterionId"]}"' in text
    for pathway in machine["pathways"]:
        assert pathway["label"] in text
    assert f'href="/cases/{machine["caseId"]}"' in text and f'href="/determinations/{item["id"]}/report"' in text
    assert "<main" in text and 'aria-label="Main"' in text


def test_list_page_filters(server: Server) -> None:
    params = {"outcome": "approved", "guideline": "NIA_CG_301", "limit": "5"}
    page = httpx.get(f"{server.url}/determinations", params=params, headers={**HTML, **auth(READ_TOKEN)})
    listed = httpx.get(f"{server.url}/determinations", params=params, headers=auth(READ_TOKEN)).json()
    assert page.status_code == 200
    assert f"<span data-total>{listed['total']}</span>" in page.text
    for item in listed["items"]:
        assert f'href="/determinations/{item["id"]}"' in page.text
    assert '<option value="approved" selected>' in page.text and '<option value="NIA_CG_301" selected>' in page.text
    bad = httpx.get(f"{server.url}/determinations", params={"outcome": "maybe"}, headers={**HTML, **auth(READ_TOKEN)})
    assert bad.status_code == 422


def test_metrics_json_agrees_with_the_determinations(server: Server) -> None:
    metrics = httpx.get(f"{server.url}/metrics/prior-authorization", headers=auth(READ_TOKEN))
    assert metrics.status_code == 200
    body = metrics.json()
    assert body["rule"] == "CMS-0057-F" and body["periodType"] == "year"
    for outcome in ("approved", "denied", "pended", "excluded"):
        total = httpx.get(f"{server.url}/determinations", params={"outcome": outcome, "limit": 1},
                          headers=auth(READ_TOKEN)).json()["total"]
        assert sum(p[outcome] for p in body["overall"]) == total
    for group in body["byGuideline"]:
        assert group["requests"] == group["approved"] + group["denied"] + group["pended"] + group["excluded"]
        assert group["approvedAfterAppeal"] is None
        timing = group["decisionTimeHours"]
        assert timing["decisions"] == group["approved"] + group["denied"] + group["excluded"]
        assert 0 <= timing["median"] <= timing["p90"]
    by_procedure = httpx.get(f"{server.url}/metrics/prior-authorization", params={"guideline": "NIA_CG_300", "period": "month"},
                             headers=auth(READ_TOKEN)).json()
    assert {g["guideline"] for g in by_procedure["byProcedure"]} == {"NIA_CG_300"}
    assert all(len(g["period"]) == 7 for g in by_procedure["byProcedure"])
    assert httpx.get(f"{server.url}/metrics/prior-authorization").status_code == 401
    assert httpx.get(f"{server.url}/metrics/prior-authorization", params={"period": "week"},
                     headers=auth(READ_TOKEN)).status_code == 422
    page = httpx.get(f"{server.url}/metrics/prior-authorization", headers={**HTML, **auth(READ_TOKEN)})
    assert page.status_code == 200 and "<svg class=\"chart\"" in page.text and "not recorded" in page.text


def test_request_and_decision_times_are_recorded(server: Server) -> None:
    case = (ROOT / "examples" / "cases" / "cg300-acute-approved.ttl").read_bytes()
    stored = httpx.post(f"{server.url}/cases", content=case, headers={**auth(WRITE_TOKEN), "content-type": "text/turtle"})
    determined = httpx.post(f"{server.url}/determinations", json={"caseId": stored.json()["id"]}, headers=auth(WRITE_TOKEN))
    det_id = determined.json()["id"]
    rdf = Graph().parse(data=httpx.get(f"{server.url}/determinations/{det_id}",
                                       headers={**auth(READ_TOKEN), "accept": "text/turtle"}).text, format="turtle")
    node = URIRef(f"https://w3id.org/ipkg/determination/{det_id}")
    received, decided = rdf.value(node, IP.requestReceivedAt), rdf.value(node, IP.determinedAt)
    assert received is not None and decided is not None
    assert received.toPython() <= decided.toPython()
    graph = f"https://w3id.org/ipkg/graph/case-receipt/{stored.json()['id']}"
    query = f"PREFIX ip: <{IP}> SELECT ?t WHERE {{ GRAPH <{graph}> {{ ?g ip:caseReceivedAt ?t }} }}"
    receipt = httpx.post(f"{server.url}/sparql", content=query,
                         headers={**auth(READ_TOKEN), "content-type": "application/sparql-query"}).json()
    stored_at = dt.datetime.fromisoformat(receipt["results"]["bindings"][0]["t"]["value"].replace("Z", "+00:00"))
    assert stored_at == received.toPython(), "a stored case's request time is when the case was stored"


def test_ontology_by_content_negotiation(server: Server) -> None:
    page = httpx.get(f"{server.url}/ontology", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="CG300-ACU-DUR"' in page.text and "Duration of pain &lt; 3 months" in page.text
    assert "content-security-policy" in page.headers
    turtle = httpx.get(f"{server.url}/ontology")
    assert turtle.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=turtle.text, format="turtle")
    assert (IP["CG300-ACU-DUR"], IP.verbatimText, None) in graph
    jsonld = httpx.get(f"{server.url}/ontology", headers={"accept": "application/ld+json"})
    assert len(Graph().parse(data=jsonld.text, format="json-ld")) == len(graph)
    assert httpx.get(f"{server.url}/ontology", headers={"accept": "image/png"}).status_code == 406
    shapes = httpx.get(f"{server.url}/shapes", headers={"accept": "text/turtle"})
    assert len(Graph().parse(data=shapes.text, format="turtle")) > 0
    context = httpx.get(f"{server.url}/context.jsonld")
    assert context.headers["content-type"] == "application/ld+json" and "@context" in context.json()
    assert httpx.head(f"{server.url}/ontology", headers=HTML).status_code == 200
