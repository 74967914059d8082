"""Catalog services: records, items, imports, exports, labels and statistics (keyword-only, actor explicit)."""
