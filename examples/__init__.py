"""Runnable examples for suppliers (docs/build-it-in.md)."""
