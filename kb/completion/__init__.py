"""Completing what a case leaves undocumented: which facts a criterion reads (``reads``), which of them
the case does not record and the values they may take (``unknowns``, values in ``values.toml``), a
criterion's status decided on its own shape (``status``), and the search for a completion that gives
a wanted status (``search``). The three-valued checks, the missing-items questionnaires and the
counterfactual explanations are built on it.
"""
