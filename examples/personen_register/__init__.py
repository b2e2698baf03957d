"""The provider: a mock person registry that logs its own side of every call (§10.4)."""
