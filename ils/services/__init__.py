"""Core services: libraries, staff accounts, the audit trail and the staff overview."""
