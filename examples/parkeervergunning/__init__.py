"""The consumer: a small parking-permit application that queries the person registry."""
