"""The parts of scripts/upload.py: transport, progress, transfers and the command line."""
