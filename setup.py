"""Packaging details pyproject.toml cannot say: the top-level asset folders become package data.

The product keeps ``models/``, ``jsfx/`` and ``reaper_scripts/`` at the top of the repository;
installed, they are ``bridge.assets.models`` and friends, found with ``importlib.resources``
(see ``bridge/assets/__init__.py``), so a wheel installed anywhere finds them.
"""

from setuptools import find_packages, setup

ASSETS = {
    "bridge.assets.models": "models",
    "bridge.assets.jsfx": "jsfx",
    "bridge.assets.reaper_scripts": "reaper_scripts",
}

setup(
    packages=find_packages(include=["bridge", "bridge.*"]) + list(ASSETS),
    package_dir=ASSETS,
    package_data={"bridge": ["py.typed"], **{name: ["*", "**/*"] for name in ASSETS}},
    exclude_package_data={name: ["__pycache__/*", "**/__pycache__/*"] for name in ASSETS},
)
