-- @description reabridge: Clean up selected items...
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Removes noise, mains hum, mouth clicks and (optionally) room reverb from the selected
--   items, each into a new active take named after the stages ('Cleaned (denoise, dehum,
--   declick)'), so the original is one click away. One undo step; pressing it again replaces
--   that take, starting from the original. A dialog asks for the stages and the strength;
--   'Preview first' cleans the first 10 s of the first selected item and plays it in the
--   Media Explorer before asking whether to clean them all.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local PREVIEW_SECONDS = 10
local DENOISE = {voice = true, broadband = true, off = true}
local DEHUM = {auto = true, ["50"] = true, ["60"] = true, off = true}

local function yes(text, what)
  local v = text:lower()
  if v == "y" or v == "yes" or v == "1" or v == "on" then return true end
  if v == "n" or v == "no" or v == "0" or v == "off" or v == "" then return false end
  return nil, what .. ": '" .. text .. "' is not yes or no"
end

--- The request options from the dialog's answers, or nil and one message naming the field.
local function options_from(answers)
  local denoise, dehum = answers[1]:lower(), answers[2]:lower()
  if not DENOISE[denoise] then return nil, "denoise: '" .. answers[1] .. "' is not voice, broadband or off" end
  if not DEHUM[dehum] then return nil, "de-hum: '" .. answers[2] .. "' is not auto, 50, 60 or off" end
  local declick, bad = yes(answers[3], "de-click")
  if declick == nil then return nil, bad end
  local dereverb, bad2 = yes(answers[4], "de-reverb")
  if dereverb == nil then return nil, bad2 end
  local strength, bad3 = rb.number(answers[5], "strength", 0, 1)
  if not strength then return nil, bad3 end
  local options = {denoise = denoise, dehum = dehum, declick = declick, dereverb = dereverb, strength = strength}
  if answers[6] ~= "" then
    local lufs, bad4 = rb.number(answers[6], "loudness (LUFS, empty for none)", -40, -3)
    if not lufs then return nil, bad4 end
    options.loudness = lufs
  end
  return options
end

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1)
  if not guids then return rb.message(problem) end
  local answers = rb.ask("reabridge: clean up (de-hum > de-click > denoise > de-reverb > loudness)",
    {{"Denoise (voice/broadband/off)", "voice"}, {"De-hum (auto/50/60/off)", "auto"}, {"De-click (yes/no)", "yes"},
     {"De-reverb (yes/no)", "no"}, {"Strength (0-1)", "0.5"}, {"Loudness LUFS (empty: none)", ""},
     {"Preview first (yes/no)", "yes"}})
  if not answers then return end
  local options, bad = options_from(answers)
  if not options then return rb.message(bad) end
  local preview, bad5 = yes(answers[7], "preview first")
  if preview == nil then return rb.message(bad5) end
  if not preview then return rb.run("clean", options, guids) end
  local listen = {}
  for k, v in pairs(options) do listen[k] = v end
  listen.preview = PREVIEW_SECONDS
  listen.overwrite = true
  listen.output = rb.join(rb.folder(), "clean-preview.wav")
  rb.run("clean", listen, {guids[1]}, function(status)
    if status.state ~= "done" then return end
    reaper.OpenMediaExplorer(listen.output, true)
    local answer = reaper.ShowMessageBox("Playing the first " .. PREVIEW_SECONDS .. " s, cleaned, in the Media "
      .. "Explorer.\n\nClean up the " .. #guids .. " selected item(s) like this?", "reabridge: clean up", 4)
    if answer == 6 then rb.run("clean", options, guids) end
  end)
end)
