"""NIA_CG_408 (Epidural Spine Injections and Single Injection Trials for Intrathecal Pumps): derived
facts of its own.

Registered in ``kb.pipeline.enrichment.GUIDELINE_HOOKS``; runs after the generic facts. The epidural requests
of NIA_CG_408 use the generic episode and phases (``ip:initialPhaseMaxInjections`` 3, as NIA_CG_300).

- A request with ``ip:purpose ip:IntrathecalPumpTrial`` is an intraspinal drug trial ("INTRASPINAL
  DRUG TRIALS FOR CHRONIC INTRACTABLE PAIN OR SPASTICITY CAN BE CONSIDERED USING THIS GUIDELINE."):
  it is reviewed in the phase ``ip:IntraspinalDrugTrialPhase``, whose pathways are the two trial
  pathways, never the epidural injection phases.
- ``ip:failedStandardTherapyDays`` -- CG408-TS-THERAPY: "Failure to respond to a minimum of 12 weeks
  of standard therapies (e.g., oral medications, physical therapy, etc.)": the days covered by failed
  therapy episodes of any modality and region, each day counted once (the shape applies the 84), and
  ``ip:possibleFailedStandardTherapyDays``, the same with unrecorded responses and dates at their most
  favourable (kb/pipeline/therapy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import URIRef

from kb.namespaces import IP
from kb.pipeline import therapy
from kb.pipeline.hooks import guideline_hook

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher


@guideline_hook(IP.NIA_CG_408)
def derive(e: Enricher) -> URIRef | None:
    if e.g.value(e.request, IP.purpose) != IP.IntrathecalPumpTrial:
        return None
    therapy.derive_standard_therapy(e)
    return IP.IntraspinalDrugTrialPhase
