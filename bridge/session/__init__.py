"""Sessions apply ChangeSets: to a project file, or (later) to a running REAPER."""

from bridge.session.base import ApplyResult, Session
from bridge.session.rpp_file import RppFileSession, backup_path

__all__ = ["ApplyResult", "RppFileSession", "Session", "backup_path"]
