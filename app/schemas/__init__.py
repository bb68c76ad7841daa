"""Request and response schemas shared by the API and the CLI, one module per domain
(imported by their own names: a seed run that loads a CSV needs no email validator)."""
