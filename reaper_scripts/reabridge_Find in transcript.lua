-- @description reabridge: Find in transcript...
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Asks for words and moves the edit cursor to their next occurrence (after the cursor,
--   then from the start) in the transcripts reabridge wrote: regions, markers, take markers
--   and notes items made by "Transcribe speech in selected items". Case and punctuation
--   are ignored; the last words searched are offered again.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local function words(text)
  local out = {}
  for w in text:lower():gmatch("[%w']+") do out[#out + 1] = w end
  return " " .. table.concat(out, " ") .. " "
end

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local entries = rb.transcript(proj)
  if #entries == 0 then
    return rb.message("this project has no transcript yet: run 'Transcribe speech in selected items' first")
  end
  local last = reaper.GetExtState("reabridge", "find")
  local answers = rb.ask("reabridge: find in transcript", {{"Words", last}})
  if not answers then return end
  local want = words(answers[1])
  if want == "  " then return rb.message("type some words to look for") end
  reaper.SetExtState("reabridge", "find", answers[1], false)
  local cursor = reaper.GetCursorPositionEx(proj)
  local first, next_hit
  for _, e in ipairs(entries) do
    if words(e.text):find(want, 1, true) then
      first = first or e
      if not next_hit and e.time > cursor + 1e-6 then next_hit = e end
    end
  end
  local hit = next_hit or first
  if not hit then
    return rb.message("'" .. answers[1] .. "' is not in the transcript")
  end
  reaper.SetEditCurPos2(proj, hit.time, true, false)
end)
