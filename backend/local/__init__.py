"""Local development and test infrastructure: real servers started on this machine."""
