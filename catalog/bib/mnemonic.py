"""MARCMaker-style text, the MARC editor's text form (.mrk files): one "=245  10$aTitle" line a field.

"\\" stands for a blank indicator or a space in the leader and control fields; "{dollar}", "{lcub}"
and "{rcub}" escape the characters the format itself uses, and the other mnemonics read are those
in MNEMONICS.
"""
from __future__ import annotations

import re

from catalog.bib.access import MarcDict, fields

MNEMONICS = {"dollar": "$", "lcub": "{", "rcub": "}", "bsol": "\\", "esc": "", "joiner": "\u200d",
             "nonjoin": "\u200c", "copy": "©", "reg": "®", "deg": "°"}
MNEMONIC_LINE = re.compile(r"^=(\w{3})  ?(.*)$")


def _unmnemonic(text: str) -> str:
    return re.sub(r"\{([a-z]+)\}", lambda m: MNEMONICS.get(m.group(1), m.group(0)), text)


def _mnemonic(text: str) -> str:
    return re.sub(r"[{}$]", lambda m: {"{": "{lcub}", "}": "{rcub}", "$": "{dollar}"}[m.group()], text)


def to_mnemonic(record: MarcDict) -> list[str]:
    """A record as lines like "=245  10$aTitle" ("\\" for a blank indicator or fixed-field space)."""
    lines = [f"=LDR  {(record.get('leader') or '').replace(' ', chr(92))}"]
    for tag, value in fields(record):
        if isinstance(value, dict):
            ind = (value.get("ind1") or " ").replace(" ", "\\") + (value.get("ind2") or " ").replace(" ", "\\")
            subs = "".join(f"${c}{_mnemonic(v)}" for s in value.get("subfields", ()) for c, v in s.items())
            lines.append(f"={tag}  {ind}{subs}")
        else:
            lines.append(f"={tag}  {_mnemonic(value).replace(' ', chr(92))}")
    return lines


def from_mnemonic(text: str) -> tuple[MarcDict, list[int]]:
    """Parse MARCMaker-style lines; returns the record and the numbers of lines that are not fields."""
    leader, out, bad = "", [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        match = MNEMONIC_LINE.match(line)
        if not match:
            bad.append(number)
            continue
        tag, body = match.groups()
        if tag == "LDR":
            leader = body.replace("\\", " ")
        elif tag < "010" and tag.isdigit():
            out.append({tag: _unmnemonic(body.replace("\\", " "))})
        else:
            indicators = body[:2].replace("\\", " ").ljust(2)
            subs = [{part[0]: _unmnemonic(part[1:])} for part in body[2:].split("$") if part]
            out.append({tag: {"ind1": indicators[0], "ind2": indicators[1], "subfields": subs}})
    return {"leader": leader.ljust(24)[:24], "fields": out}, bad
