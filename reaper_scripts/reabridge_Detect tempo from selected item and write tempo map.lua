-- @description reabridge: Detect tempo from selected item and write tempo map
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Detects tempo, beats, the metre and downbeats in the selected item and writes them into
--   the project: one tempo, or a tempo map that follows the beats with its bars on the
--   downbeats, optionally with a marker at every bar. When two tempi are nearly as likely
--   (half or double time, say), it asks which one before writing anything.
-- @changelog
--   Asks between close tempi; bars start on the detected downbeat.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local CHOICES = {
  {"Set the project tempo", {apply = true}},
  {"Write a tempo map following the beats", {apply = true, map = true}},
  {"Write a tempo map and a marker at every bar", {apply = true, map = true, markers = "bars"}},
}

--- The tempo the user picked when the best alternative is nearly as likely as the estimate (the project's
--- tempo: the item's playrate applied); false when there was nothing to ask, nil when the user dismissed it.
local function pick_tempo(data)
  local bpm, in_project = tonumber(data.bpm), tonumber(data.bpm_in_project)
  local alt = type(data.alternatives) == "table" and data.alternatives[1] or nil
  if not (bpm and in_project and bpm > 0) then return false end
  if data.close_call ~= true or type(alt) ~= "table" or not tonumber(alt.bpm) then return false end
  local scale = in_project / bpm
  local other = tonumber(alt.bpm) * scale
  local choice = rb.menu({
    string.format("%.1f BPM (best guess, %d%%)", in_project, math.floor((tonumber(data.confidence) or 0) * 100 + 0.5)),
    string.format("%.1f BPM (%s, %d%%)", other, tostring(alt.relation),
                  math.floor((tonumber(alt.confidence) or 0) * 100 + 0.5)),
  })
  if not choice then return nil end
  return choice == 1 and in_project or other
end

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1, 1)
  if not guids then return rb.message(problem) end
  local entries = {}
  for i, c in ipairs(CHOICES) do entries[i] = c[1] end
  local choice = rb.menu(entries)
  if not choice then return end
  -- the analysis alone first (it writes nothing), so a close call can be asked before the project changes
  rb.run("tempo", {}, guids, function(status)
    local result = type(status.result) == "table" and status.result or {}
    if status.state ~= "done" or type(result.data) ~= "table" then return end
    local bpm = pick_tempo(result.data)
    if bpm == nil then return end
    local options = {}
    for k, v in pairs(CHOICES[choice][2]) do options[k] = v end
    if bpm then options.prefer_bpm = bpm end
    rb.run("tempo", options, guids)
  end)
end)
