"""The stages of a determination, in order: caseio (parse), caseform (form checks), enrichment
(derived facts, guideline, phase, review contexts; guideline parts register in `hooks`), validation
(pySHACL) and determination (the decision). `kb/engine.py` links them."""
