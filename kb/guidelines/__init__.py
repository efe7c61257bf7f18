"""What each guideline adds to the generic enrichment, one module per guideline.

Importing this package registers every guideline's hook and state policy with
`kb.pipeline.hooks`; the generic enrichment never imports a guideline module. `facet` and `devices`
hold helpers shared by the facet guidelines (NIA_CG_301, NIA_CG_302) and the device guidelines
(NIA_CG_405, NIA_CG_310).
"""

from kb.guidelines import cg300, cg301, cg302, cg305, cg310, cg404, cg405, cg408

__all__ = ["cg300", "cg301", "cg302", "cg305", "cg310", "cg404", "cg405", "cg408"]
