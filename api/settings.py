"""Service settings, read from the environment (prefix IPKG_) or a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TokenGrant(BaseModel):
    """Who a bearer token stands for and what it may do."""

    name: str
    scopes: list[Literal["read", "write"]]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IPKG_", env_file=".env", extra="ignore")

    store: Literal["embedded", "sparql"] = "embedded"
    """embedded: Oxigraph on disk at store_path; sparql: an external SPARQL 1.1 server."""
    store_path: Path = Path("var/store")
    sparql_query_url: str | None = None
    sparql_update_url: str | None = None
    sparql_graph_store_url: str | None = None

    tokens: dict[str, TokenGrant] = Field(default_factory=dict)
    """Bearer tokens, as JSON: {"<token>": {"name": "claims-service", "scopes": ["read", "write"]}}."""

    max_body_bytes: int = 5 * 1024 * 1024
    """Largest accepted request body; larger bodies get 413 without being parsed."""
    max_case_triples: int = 10_000
    """Most triples one case may hold; the parser stops at the first one past it."""
    max_case_depth: int = 32
    """Deepest nesting of brackets in a case: Turtle [ ] and ( ), JSON objects and arrays."""
    max_case_list_length: int = 1_000
    """Most items of one RDF list in a case."""
    case_workers: int = Field(default=2, ge=1, le=64)
    """Case worker processes (each with the knowledge loaded, about 150 MiB): cases parsed, checked and decided at
    the same time. This work never runs in the service process."""
    case_queue: int = Field(default=16, ge=0)
    """Cases that may wait for a worker; past that the service answers 503 with Retry-After."""
    case_timeout_seconds: float = Field(default=30.0, gt=0)
    """Time limit of one case in its worker process; a case over it is stopped (its worker is killed and replaced)
    and answered with 503."""
    case_worker_nice: int = Field(default=5, ge=0, le=19)
    """How much lower the case workers' CPU priority is than the service's (Unix nice); above 0, /health, reads and
    the store are served first when cases keep every core busy, at the cost of slower determinations."""
    case_workers_on_demand: bool = False
    """Start the case worker processes at the first case instead of at start-up (the first case then waits for
    them to load the knowledge); saves their start-up when a process serves no cases, as in most tests."""
    case_worker_max_rss_mib: int = Field(default=1024, ge=128)
    """A case worker whose resident memory grew past this exits after its answer and is replaced."""
    query_timeout_seconds: float = 10.0
    """Time limit of one SPARQL query; a longer query is stopped and answered with an error."""
    row_cap: int = 10_000
    """Most rows (or triples) a query result may have; a larger result is an error, never truncated."""
    sparql_workers: int = Field(default=2, ge=1, le=64)
    """SPARQL worker processes: queries running at the same time (each one in its own killable process)."""
    sparql_queue_length: int = Field(default=8, ge=0, le=1000)
    """Queries that may wait for a free worker; beyond that a query gets 503 with Retry-After at once."""
    store_readers: int = Field(default=2, ge=1, le=64)
    """Store reader processes: the service's own reads (determinations, lists, cases, reports, the health check) run
    in them on read-only snapshots of the store, never queued behind the store writer's writes."""
    store_snapshot_interval_ms: int = Field(default=100, ge=0, le=60_000)
    """At most one snapshot of the store per this many milliseconds. A read that must see a write newer than the
    newest snapshot (a list, a SPARQL query after a write) waits for the next one, shared by every reader waiting;
    each snapshot costs the writer a flush of its write buffers."""
    snapshot_reader_max_rss_mib: int = Field(default=192, ge=64)
    """A store reader or SPARQL worker whose resident memory grew past this exits after its answer and is replaced
    (its caches of the snapshots it opened go with it), so their memory stays bounded as the store grows."""
    snapshot_reader_max_opens: int = Field(default=250, ge=0)
    """A store reader or SPARQL worker that has opened this many snapshots exits after its answer and is replaced
    (0: never): each snapshot opened leaves about 0.1-0.2 MiB behind after it is closed (benchmarks/snapshot_memory.py),
    so without it a worker grows with every write it ever saw."""
    sparql_max_query_bytes: int = Field(default=100_000, ge=100)
    """Largest SPARQL query text (UTF-8 bytes); a longer one gets 413."""
    sparql_max_nesting: int = Field(default=64, ge=4, le=10_000)
    """Deepest nesting of (), {} and [] in a query, checked by a linear scan before parsing; deeper gets 400."""
    sparql_max_dataset_graphs: int = Field(default=32, ge=1)
    """Most FROM / FROM NAMED clauses plus default-graph-uri / named-graph-uri parameters in one request."""
    sparql_max_response_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest serialized SPARQL result; a larger one is stopped while serializing and answered with 422."""
    sparql_allow_unsandboxed: bool = False
    """Run SPARQL workers even when they cannot be cut off from the network (neither an empty network namespace nor a
    seccomp socket filter is possible; unsafe: a query could reach the network through SERVICE). Without it the SPARQL
    endpoint stays disabled (503) on such a host."""
    counterfactual_evaluations: int = Field(default=120, ge=1, le=10_000)
    """Most criterion evaluations one counterfactual search may make (each validates one shape)."""
    counterfactual_seconds: float = Field(default=20.0, gt=0, le=600)
    """Time limit of one counterfactual search; it stops with what it verified so far."""
    questionnaire_response_max_bytes: int = Field(default=256 * 1024, ge=1024)
    """Largest accepted QuestionnaireResponse body; larger bodies get 413."""
    page_size_max: int = 200
    audit_log: Path = Path("var/audit.log")
    preload_examples: bool = False
    """Store the bundled example cases and their determinations at start-up."""
