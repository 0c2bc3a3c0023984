"""Civil affairs' adapters: tables, repositories and query modules (all SQL lives here), consumers and
the outbound clients (economic-situation check, subsidy)."""
