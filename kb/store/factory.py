"""Opening the configured store."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from kb.store.base import Store, StoreError


class StoreSettings(Protocol):
    @property
    def store(self) -> str: ...
    @property
    def store_path(self) -> Path: ...
    @property
    def sparql_query_url(self) -> str | None: ...
    @property
    def sparql_update_url(self) -> str | None: ...
    @property
    def sparql_graph_store_url(self) -> str | None: ...
    @property
    def sparql_workers(self) -> int: ...
    @property
    def sparql_queue_length(self) -> int: ...
    @property
    def sparql_allow_unsandboxed(self) -> bool: ...
    @property
    def store_readers(self) -> int: ...
    @property
    def store_snapshot_interval_ms(self) -> int: ...
    @property
    def snapshot_reader_max_rss_mib(self) -> int: ...
    @property
    def snapshot_reader_max_opens(self) -> int: ...


def open_store(settings: StoreSettings) -> Store:
    if settings.store == "embedded":
        from kb.store.embedded import EmbeddedStore

        store = EmbeddedStore(
            settings.store_path,
            workers=settings.sparql_workers,
            queue_length=settings.sparql_queue_length,
            require_sandbox=not settings.sparql_allow_unsandboxed,
            readers=settings.store_readers,
            snapshot_interval=settings.store_snapshot_interval_ms / 1000,
            reader_max_rss_bytes=settings.snapshot_reader_max_rss_mib * 1024 * 1024,
            reader_max_opens=settings.snapshot_reader_max_opens,
        )
        store.start_sparql_workers()  # now, so that a host without network namespaces is reported at start-up
        return store
    if settings.store == "sparql":
        from kb.store.remote import RemoteSparqlStore

        if not (settings.sparql_query_url and settings.sparql_update_url and settings.sparql_graph_store_url):
            raise StoreError(
                "the sparql store needs IPKG_SPARQL_QUERY_URL, IPKG_SPARQL_UPDATE_URL and IPKG_SPARQL_GRAPH_STORE_URL"
            )
        return RemoteSparqlStore(settings.sparql_query_url, settings.sparql_update_url, settings.sparql_graph_store_url)
    raise StoreError(f"unknown store kind {settings.store!r}: use embedded or sparql")
