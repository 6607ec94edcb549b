"""The offline session: applying ChangeSets to a ``.RPP`` file on disk."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bridge import rpp
from bridge.changes.ops import ChangeSet
from bridge.changes.splice import applied_ids, apply_changeset
from bridge.fileio import Outputs
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track
from bridge.session.base import ApplyResult


def backup_path(path: Path) -> Path:
    """Where the previous version is kept: ``NAME.RPP-bak``, as REAPER does."""
    return path.with_name(path.name + "-bak")


class RppFileSession:
    """Edits a REAPER project file without REAPER running.

    Applying a ChangeSet re-reads the file, applies every operation in memory,
    keeps the previous file as ``NAME.RPP-bak``, and replaces the file
    atomically (temporary file + rename). Lines the ChangeSet does not touch
    stay byte-identical. A ChangeSet whose id is already recorded in the
    project is skipped. If any operation fails, the file (and its ``-bak``)
    are left as they were. A project reached through a symbolic link is
    written where the link points (the link stays).

    Parameters
    ----------
    path : str or Path
        The ``.RPP`` file. It is read at once, so a bad file fails early.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).absolute()
        self.project = Project.load(self.path)

    @property
    def real_path(self) -> Path:
        """The file actually written (symbolic links followed)."""
        return Path(os.path.realpath(self.path))

    def check_writable(self) -> None:
        """Refuse early, before any work, a project that could not be saved.

        Raises
        ------
        bridge.fileio.OutputError
            The file or its folder is read-only (or the file is locked).
        """
        self.check_file(self.path)

    @staticmethod
    def check_file(path: Path) -> None:
        """Refuse a project file that could not be saved (see :meth:`check_writable`)."""
        from bridge.fileio import OutputError

        real = Path(os.path.realpath(path))
        if not os.access(real, os.W_OK):
            raise OutputError(f"{path.name} is read-only or locked; nothing was done (make it writable, "
                              "or save the project under another name)")
        if not os.access(real.parent, os.W_OK | os.X_OK):
            raise OutputError(f"the folder of {path.name} cannot be written to; nothing was done")

    def reload(self) -> Project:
        """Read the file again (after it changed on disk)."""
        self.project = Project.load(self.path)
        return self.project

    def items(self, selected_only: bool = False) -> list[tuple[Track, Item]]:
        """Items of the project with their tracks, optionally only the selected ones."""
        return self.project.selected_items() if selected_only else self.project.items()

    def applied(self) -> set[str]:
        """Ids of ChangeSets already applied to the file."""
        return applied_ids(self.project.root)

    def apply(self, changes: ChangeSet) -> ApplyResult:
        """Apply a ChangeSet to the file in one atomic step.

        Raises
        ------
        bridge.changes.ChangeSetError
            An operation could not be carried out; the file is unchanged.
        bridge.rpp.RppError
            The file on disk is not a readable project.
        """
        real = self.real_path
        with open(real, "rb") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                original = real.read_bytes()
                root = rpp.loads(rpp.decode(original))
                Project(root, self.path)  # validates it is a project
                if not apply_changeset(root, changes, self.path.parent):
                    self.project = Project(root, self.path)
                    return ApplyResult(False, changes.id)
                data = rpp.dumps(root).encode("utf-8")
                self.check_writable()
                with Outputs(overwrite=True) as outputs:  # both files, or neither
                    outputs.write_bytes(backup_path(real), original, "project", "the backup")
                    outputs.write_bytes(real, data, "project", "the project")
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        self.project = Project(root, self.path)
        return ApplyResult(True, changes.id)
