"""Persistence behind one narrow interface: `write` appends, `read` queries. Nothing is updated in place."""
