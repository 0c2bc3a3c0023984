"""Civil affairs' use cases: each takes a command and a unit of work and returns a domain result; no SQL
and no web framework here (ports in `ports.py`, implementations in `adapters/`)."""
