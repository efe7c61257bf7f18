"""Deciding many cases at once: set-based validation over an Oxigraph store, chunks, Dask, replay."""
