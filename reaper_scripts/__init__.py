"""Package data of reabridge (installed as bridge.assets.reaper_scripts); see setup.py."""
