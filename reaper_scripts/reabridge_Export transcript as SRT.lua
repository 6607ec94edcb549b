-- @description reabridge: Export transcript as SRT...
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Writes the project's transcript -- the regions, markers, take markers and notes items
--   made by "Transcribe speech in selected items", with any edits made since -- as a SubRip
--   subtitle file (.srt) in project time. A marker's subtitle lasts until the next one
--   (at most 5 s). Asks before replacing a file.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local function stamp(t)
  local ms = math.floor(math.max(0, t) * 1000 + 0.5)
  return string.format("%02d:%02d:%02d,%03d", ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)
end

rb.action(function()
  local proj, path = rb.project()
  if not proj then return rb.message(path) end
  local entries = rb.transcript(proj)
  if #entries == 0 then
    return rb.message("this project has no transcript yet: run 'Transcribe speech in selected items' first")
  end
  local answers = rb.ask("reabridge: export transcript as SRT", {{"SRT file", (path:gsub("%.[Rr][Pp][Pp]$", "")) .. ".srt"}})
  if not answers then return end
  local target = answers[1]
  if not target:lower():match("%.srt$") then return rb.message(target .. " is not an .srt file") end
  if rb.read_file(target) and reaper.ShowMessageBox(target .. " exists. Replace it?", "reabridge", 4) ~= 6 then
    return
  end
  local out = {}
  for i, e in ipairs(entries) do
    local stop = e.stop
    if not stop then
      stop = e.time + 5
      if entries[i + 1] and entries[i + 1].time < stop then stop = entries[i + 1].time end
    end
    local text = e.text:gsub("\r", ""):gsub("^%s+", ""):gsub("%s+$", "")
    if text ~= "" then
      out[#out + 1] = string.format("%d\n%s --> %s\n%s\n", #out + 1, stamp(e.time), stamp(stop), text)
    end
  end
  rb.write_atomic(target, table.concat(out, "\n"))
  rb.message(string.format("wrote %d subtitles to %s", #out, target))
end)
