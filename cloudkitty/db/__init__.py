"""Relational database access: engine and sessions, models, migrations."""
