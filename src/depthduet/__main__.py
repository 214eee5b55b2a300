"""``python -m depthduet`` entry point."""

from depthduet.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
