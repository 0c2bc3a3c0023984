"""Civil affairs' pure rules and state machines (no I/O): procedures, time limits, amounts."""
