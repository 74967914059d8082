"""Workflows services: typed functions the views, API, jobs and CLI call (they flush; callers commit)."""
