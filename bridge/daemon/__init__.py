"""The daemon: a spool folder, a durable queue, warm workers (``reabridge serve``)."""
