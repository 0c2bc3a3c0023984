"""Civil affairs (民政): the low-income population's procedures — dibao and 特困 applications with the
household economic-situation check, temporary relief, exits, appeals and complaints (seed 003)."""
