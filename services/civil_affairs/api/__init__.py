"""Civil affairs' HTTP routers and schemas: thin, mapping schemas to commands and results."""
