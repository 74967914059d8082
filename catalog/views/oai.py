"""OAI-PMH 2.0 provider at /oai (routes are added by the OAI-PMH work in progress)."""
from __future__ import annotations
