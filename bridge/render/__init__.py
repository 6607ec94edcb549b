"""Rendering REAPER projects without REAPER: the mix of an ``.RPP`` into an audio file."""

from bridge.render.engine import RenderResult, render_project
from bridge.render.plan import RenderError

__all__ = ["RenderError", "RenderResult", "render_project"]
