"""Package data of reabridge (installed as bridge.assets.models); see setup.py."""
