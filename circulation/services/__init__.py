"""Circulation services: the only code that writes circulation tables.

Keyword-only arguments, an explicit actor, library and ``now``; typed errors with messages a
librarian understands; they flush and the caller commits (house style habit 3).
"""
