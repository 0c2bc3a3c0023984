"""Subsidy use cases: each takes a command and a unit of work (`ports.Work`); no SQL and no web
framework here (ports in `ports.py`, implementations in `adapters/`)."""
