-- @description reabridge: Transcribe selected items to MIDI
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Transcribes each selected audio item to MIDI with Spotify's basic-pitch and puts
--   the notes on a new track under the item's track, as one undo step. Pressing it
--   again on the same items replaces the earlier result.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1)
  if not guids then return rb.message(problem) end
  rb.run("transcribe", {}, guids)
end)
