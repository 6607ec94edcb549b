-- @description reabridge: Insert mastering chain JSFX on master
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Analyses the selected item (a rendered mix) for a preset chosen from a menu and
--   puts the resulting mastering chain on the master track as a native JSFX effect,
--   so the mix can be heard through it while working.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1, 1)
  if not guids then return rb.message(problem) end
  local preset = rb.choose_preset()
  if not preset then return end
  rb.run("master_jsfx", {preset = preset.name, resource_path = reaper.GetResourcePath()}, guids)
end)
