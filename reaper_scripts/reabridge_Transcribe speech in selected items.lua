-- @description reabridge: Transcribe speech in selected items...
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Transcribes the English speech each selected item plays (Moonshine base-en, offline)
--   and puts every phrase into the project, where the item plays it: as regions named with
--   the text, project markers, take markers, or empty items holding the text as notes on a
--   new '<track> (transcript)' track. Optionally labels who speaks ("S1: ..."). One undo
--   step; pressing it again on the same items replaces their earlier transcript.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local LANDINGS = {
  {"Regions named with the text", "regions"}, {"Project markers", "markers"},
  {"Take markers", "take-markers"}, {"Items with the text as notes (new track)", "notes"},
}
local SPEAKERS = {
  {"No speaker labels", nil}, {"Label speakers (count found)", "auto"},
  {"Label 2 speakers", 2}, {"Label 3 speakers", 3}, {"Label 4 speakers", 4},
}

local function pick(choices)
  local entries = {}
  for i, c in ipairs(choices) do entries[i] = c[1] end
  local choice = rb.menu(entries)
  return choice and choices[choice]
end

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1)
  if not guids then return rb.message(problem) end
  local landing = pick(LANDINGS)
  if not landing then return end
  local speakers = pick(SPEAKERS)
  if not speakers then return end
  rb.run("speech", {["as"] = landing[2], speakers = speakers[2]}, guids)
end)
