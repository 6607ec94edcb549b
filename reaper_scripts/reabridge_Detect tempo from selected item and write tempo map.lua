-- @description reabridge: Detect tempo from selected item and write tempo map
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Detects tempo, beats and downbeats in the selected item and writes them into the
--   project: one tempo, or a tempo map that follows the beats, optionally with a
--   marker at every bar.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local CHOICES = {
  {"Set the project tempo", {apply = true}},
  {"Write a tempo map following the beats", {apply = true, map = true}},
  {"Write a tempo map and a marker at every bar", {apply = true, map = true, markers = "bars"}},
}

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1, 1)
  if not guids then return rb.message(problem) end
  local entries = {}
  for i, c in ipairs(CHOICES) do entries[i] = c[1] end
  local choice = rb.menu(entries)
  if not choice then return end
  rb.run("tempo", CHOICES[choice][2], guids)
end)
