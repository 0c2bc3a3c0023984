"""Pure domain of the identification service: the rules that find households at risk of
(re)falling into poverty (DOMAIN.md §2–§5) and the state of their cases. No I/O here, except
`policies.load_shipped_policies` reading the shipped YAML."""
