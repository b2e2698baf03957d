"""The admin pages for the municipality's employees under /beheer (docs/admin.md)."""
