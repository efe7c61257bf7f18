"""FHIR R4 prior-authorization interface (Da Vinci PAS): bundles in, case graphs and responses out.

``bundle`` reads and checks a PAS Request Bundle, ``mapper`` turns it into a case graph by the tables
in ``data/mapping/``, ``terminology`` resolves codes by ``data/terminology.toml``, ``response`` writes
the PAS Response Bundle, ``outcome`` the OperationOutcome of a refused bundle, and ``export`` writes a
case graph as a bundle (the examples in ``examples/fhir/``).
"""
