"""One module per concern. Each has RULES (id -> description) and check(context) -> findings."""
