"""HTTP API over the determination engine (small for now; the service grows in later work)."""
