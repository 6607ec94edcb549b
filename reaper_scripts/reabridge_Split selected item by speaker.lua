-- @description reabridge: Split selected item by speaker
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   For one microphone and several people: finds who speaks when in the selected item
--   and puts each speaker on a track of their own under the item's track (named S1, S2...;
--   rename them), holding copies of the item trimmed to that speaker's turns with short
--   fades. The original item is muted. One undo step; pressing it again on the same item
--   replaces the copies. The number of speakers is found, or picked from the menu.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local CHOICES = {
  {"Find the number of speakers", nil},
  {"2 speakers", 2}, {"3 speakers", 3}, {"4 speakers", 4}, {"5 speakers", 5}, {"6 speakers", 6},
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
  rb.run("speakers", {split = true, speakers = CHOICES[choice][2]}, guids)
end)
