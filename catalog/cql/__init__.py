"""CQL, the query language of SRU, parsed into catalog.query nodes.

Two pure steps: catalog.cql.syntax reads CQL text into a syntax tree, and catalog.cql.mapping turns
the tree into catalog.query nodes through tables (which index searches which field, which relations
each kind of field takes, which modifiers we honour). Both raise CqlError carrying the standard SRU
diagnostic number (info:srw/diagnostic/1/N), so the SRU server answers with the one a client expects.
"""
from __future__ import annotations

from catalog.cql.mapping import (CONTEXT_SETS, DEFAULT_CONTEXT_SET, EVERYTHING, INDEXES, KNOWN_RELATIONS, MODIFIERS,
                                 RELATIONS, SORTS, clause_node, field_of, index_name, node, sort_of, to_query, words)
from catalog.cql.syntax import Boolean, Clause, CqlError, Modifier, Query, SortKey, parse, tokenize, unescape

__all__ = ["CONTEXT_SETS", "DEFAULT_CONTEXT_SET", "EVERYTHING", "INDEXES", "KNOWN_RELATIONS", "MODIFIERS",
           "RELATIONS", "SORTS", "Boolean", "Clause", "CqlError", "Modifier", "Query", "SortKey", "clause_node",
           "field_of", "index_name", "node", "parse", "sort_of", "to_query", "tokenize", "unescape", "words"]
