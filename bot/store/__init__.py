"""Persistence: SQLModel tables, the database engine and Alembic migrations."""
