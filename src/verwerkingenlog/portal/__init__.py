"""'Mijn verwerkingen': the citizen's own view of the log, read through the Inzage API (docs/portal.md)."""
