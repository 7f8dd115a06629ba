"""The local Amazon stand-in, for demos and tests only: grants.py holds its rules, app.py its routes."""
