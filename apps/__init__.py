"""Command-line applications; each module has ``main(argv=None) -> int``."""
