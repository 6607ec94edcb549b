"""The ``reabridge`` command line."""
