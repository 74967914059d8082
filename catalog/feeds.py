"""New-arrival feeds in Atom 1.0 and RSS 2.0 (for feed readers and library websites). Pure functions."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Entry:
    """One feed entry: a title a library added."""

    id: str  # a stable URI
    title: str
    link: str
    summary: str
    updated: datetime


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def atom(*, title: str, feed_id: str, link: str, self_link: str, entries: Sequence[Entry],
         generated: datetime) -> bytes:
    """An Atom 1.0 feed document."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = feed_id
    ET.SubElement(feed, f"{{{ATOM}}}link", href=link)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_link)
    newest = max((e.updated for e in entries), default=generated)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _utc(newest).isoformat(timespec="seconds")
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "SIPUS Bontang"
    for entry in entries:
        node = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(node, f"{{{ATOM}}}title").text = entry.title
        ET.SubElement(node, f"{{{ATOM}}}id").text = entry.id
        ET.SubElement(node, f"{{{ATOM}}}link", href=entry.link)
        ET.SubElement(node, f"{{{ATOM}}}updated").text = _utc(entry.updated).isoformat(timespec="seconds")
        ET.SubElement(node, f"{{{ATOM}}}summary").text = entry.summary
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def rss(*, title: str, link: str, description: str, entries: Sequence[Entry], generated: datetime) -> bytes:
    """An RSS 2.0 feed document."""
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = description
    ET.SubElement(channel, "lastBuildDate").text = format_datetime(_utc(generated))
    for entry in entries:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = entry.title
        ET.SubElement(item, "link").text = entry.link
        ET.SubElement(item, "guid", isPermaLink="false").text = entry.id
        ET.SubElement(item, "pubDate").text = format_datetime(_utc(entry.updated))
        ET.SubElement(item, "description").text = entry.summary
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
