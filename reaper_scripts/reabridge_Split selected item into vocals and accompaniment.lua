-- @description reabridge: Split selected item into vocals and accompaniment
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Splits each selected audio item into its vocals and its accompaniment with Deezer
--   Spleeter's pretrained 2-stem model (run by reabridge, no TensorFlow). Two tracks
--   appear under the item's track, "Vocals (split)" and "Accompaniment (split)", each
--   holding its stem at the item's position; the original item is muted, not deleted.
--   One undo step; pressing it again on the same item replaces the stems.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1)
  if not guids then return rb.message(problem) end
  rb.run("stems", {}, guids)
end)
