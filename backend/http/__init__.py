"""The HTTP layer: thin controllers that parse, call the domain, and shape the answer."""
