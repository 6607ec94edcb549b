"""Package data of reabridge (installed as bridge.assets.jsfx); see setup.py."""
