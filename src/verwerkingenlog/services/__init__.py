"""Use cases shared by the HTTP API and the CLI: each loads, applies a domain rule, stores."""
