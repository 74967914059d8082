"""MARC records as MARC-in-JSON dicts: reading fields, extracting columns, matching keys, call numbers.

Pure functions over the dict form ``{"leader": str, "fields": [{"001": "..."}, {"245": {"ind1":
"1", "ind2": "0", "subfields": [{"a": "..."}]}}]}`` that catalog.marc produces from every input
format. Nothing here touches pymarc, the database or Flask, so it is fast and easy to test.

``access`` holds the dict form, its stored text and field access; ``normalise`` folded text, ISBNs,
ISSNs and years; ``extraction`` the derived columns (Extracted, extract) and the call number;
``matching`` the keys an import matches records by; ``mnemonic`` the MARC editor's MARCMaker text.
The public names are imported here.
"""
from catalog.bib.access import (ISBD_TRAILING, LEADER_SIGNATURE, MarcDict, control, dumps, fields, first,
                                join_subfields, loads, strip_isbd, subfields)
from catalog.bib.extraction import (AUTHORITY_TYPES, HOLDINGS_TYPES, LANGUAGE_CODE, MATERIAL_BY_TYPE, MATERIAL_TYPES,
                                    NAME_TAGS_ADDED, NAME_TAGS_MAIN, SERIAL_LEVELS, SUBDIVISION_CODES, SUBJECT_TAGS,
                                    Extracted, call_number_parts, extract, material_type, name_heading, record_kind,
                                    subject_heading)
from catalog.bib.matching import content_hash, match_keys, title_key
from catalog.bib.mnemonic import MNEMONIC_LINE, MNEMONICS, from_mnemonic, to_mnemonic
from catalog.bib.normalise import (ARTICLES, ISBN_CANDIDATE, LEADING_PUNCTUATION, fold, isbn_forms, nonfiling_length,
                                   normalise_isbn, normalise_issn, year_of)

__all__ = ["ARTICLES", "AUTHORITY_TYPES", "HOLDINGS_TYPES", "ISBD_TRAILING", "ISBN_CANDIDATE", "LANGUAGE_CODE",
           "LEADER_SIGNATURE", "LEADING_PUNCTUATION", "MATERIAL_BY_TYPE", "MATERIAL_TYPES", "MNEMONICS",
           "MNEMONIC_LINE", "NAME_TAGS_ADDED", "NAME_TAGS_MAIN", "SERIAL_LEVELS", "SUBDIVISION_CODES", "SUBJECT_TAGS",
           "Extracted", "MarcDict", "call_number_parts", "content_hash", "control", "dumps", "extract", "fields",
           "first", "fold", "from_mnemonic", "isbn_forms", "join_subfields", "loads", "match_keys", "material_type",
           "name_heading", "nonfiling_length", "normalise_isbn", "normalise_issn", "record_kind", "strip_isbd",
           "subfields", "subject_heading", "title_key", "to_mnemonic", "year_of"]
