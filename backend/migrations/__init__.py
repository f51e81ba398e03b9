"""Alembic migrations; run them with `python -m backend db upgrade`."""
