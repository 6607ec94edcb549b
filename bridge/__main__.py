"""``python -m bridge`` runs the ``reabridge`` command line."""

from bridge.cli.app import main

if __name__ == "__main__":
    main()
