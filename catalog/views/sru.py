"""SRU server at /sru (routes are added by the SRU work in progress)."""
from __future__ import annotations
