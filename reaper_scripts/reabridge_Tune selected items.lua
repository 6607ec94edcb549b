-- @description reabridge: Tune selected items...
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Pitch correction for a vocal, bass, wind or lead-guitar part. Pick what the notes are
--   tuned to from a menu -- the project's key when a marker or region says it ("Key: A minor"),
--   the melody of a MIDI item selected with the audio ("tune the vocal to the melody I wrote"),
--   chromatic, a major or minor key, or any key or scale typed in -- then the retune speed
--   (0 ms is the hard-tune sound) and whether vibrato is kept. Each item gets a new active take
--   'Tuned (<key>)' with the voice's character kept; one undo step; pressing it again replaces
--   that take. Chords and full mixes are refused: one voice or instrument at a time.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local ROOTS = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"}

--- The key a marker or region names ("Key: A minor", "key = F#m"), or nil: REAPER keeps no key of its own.
local function project_key(proj)
  for i = 0, reaper.CountProjectMarkers(proj) - 1 do
    local _, _, _, _, name = reaper.EnumProjectMarkers3(proj, i)
    local key = (name or ""):match("^%s*[Kk][Ee][Yy]%s*[:=]?%s*(%S.-)%s*$")
    if key and key:match("^[A-Ga-g]") then return key end
  end
  return nil
end

--- The selected items split into audio (to tune) and MIDI (a guide): GUID lists, and each MIDI item's name.
local function audio_and_midi(proj)
  local audio, midi, names = {}, {}, {}
  for i = 0, reaper.CountSelectedMediaItems(proj) - 1 do
    local item = reaper.GetSelectedMediaItem(proj, i)
    local _, chunk = reaper.GetItemStateChunk(item, "", false)
    local guid = rb.item_guid(item)
    if chunk:find("<SOURCE MIDI", 1, true) then
      midi[#midi + 1] = guid
      names[guid] = chunk:match('\n%s*NAME%s+"([^"\n]*)"') or chunk:match("\n%s*NAME%s+([^\r\n]*)") or ""
    else
      audio[#audio + 1] = guid
    end
  end
  return audio, midi, names
end

--- The menu: entries and, for each leaf (in gfx.showmenu's numbering), the options it stands for.
local function choices(key, guide, guide_name)
  local entries, picks = {}, {}
  local function leaf(text, options)
    entries[#entries + 1] = text
    picks[#picks + 1] = options
  end
  if key then leaf("Project key: " .. key, {key = key}) end
  if guide then leaf("Follow the melody of MIDI item '" .. guide_name .. "'", {guide_item = guide}) end
  leaf("Chromatic (every semitone)", {scale = "chromatic"})
  for _, mode in ipairs({"major", "minor"}) do
    entries[#entries + 1] = ">" .. mode:sub(1, 1):upper() .. mode:sub(2) .. " key"
    for i, root in ipairs(ROOTS) do
      entries[#entries + 1] = (i == #ROOTS and "<" or "") .. root .. " " .. mode
      picks[#picks + 1] = {key = root .. " " .. mode}
    end
  end
  leaf("Other key or scale...", "ask")
  return entries, picks
end

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local _, problem = rb.selected(proj, 1)
  if problem then return rb.message(problem) end
  local audio, midi, names = audio_and_midi(proj)
  if #audio == 0 then
    return rb.message("select the audio items to tune (a MIDI item selected with them is the melody to follow)")
  end
  if #midi > 1 then return rb.message("select at most one MIDI item: the melody to follow") end
  local entries, picks = choices(project_key(proj), midi[1], names[midi[1]] or "")
  local choice = rb.menu(entries)
  if not choice then return end
  local options = picks[choice]
  if options == "ask" then
    local typed = rb.ask("reabridge: tune to", {{"Key or scale (A minor; Bb dorian; chromatic)", "A minor"}})
    if not typed then return end
    if typed[1] == "" then return rb.message("key or scale: type one, like A minor") end
    options = typed[1]:lower() == "chromatic" and {scale = "chromatic"} or {key = typed[1]}
  end
  local answers = rb.ask("reabridge: tune", {{"Retune speed (ms; 0 = hard tune)", 50}, {"Keep vibrato (y/n)", "y"}})
  if not answers then return end
  local speed, bad = rb.number(answers[1], "retune speed", 0, 2000)
  if not speed then return rb.message(bad) end
  local vibrato = answers[2]:lower():sub(1, 1)
  if vibrato ~= "y" and vibrato ~= "n" then return rb.message("keep vibrato: answer y or n, not '" .. answers[2] .. "'") end
  local request = {speed = speed, keep_vibrato = vibrato == "y"}
  for k, v in pairs(options) do request[k] = v end
  rb.run("tune", request, audio)
end)
