"""One module per concern. Each has RULES (its Rule metadata) and check(context) -> findings."""
