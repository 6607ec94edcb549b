-- @description reabridge: Create amp capture from selected DI and re-amp items
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Trains a Neural Amp Modeler capture (.nam) from two selected items: the upper
--   one is the dry DI, the lower one the same DI played through the amp (re-amped).
--   The capture is saved beside the project; training runs on the CPU and shows
--   its progress.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

rb.action(function()
  local proj, path = rb.project()
  if not proj then return rb.message(path) end
  local guids = rb.selected(proj, 2, 2)
  if not guids then return rb.message("select the DI item and its re-amped item (two items)") end
  local answers = rb.ask("reabridge: amp capture", {{"Capture name", "Amp capture"}, {"Training epochs (1-10000)", 100}})
  if not answers then return end
  local epochs, bad = rb.number(answers[2], "training epochs", 1, 10000)
  if not epochs then return rb.message(bad) end
  local name = answers[1]:gsub('[/\\:*?"<>|%c]', "_")
  if name == "" then name = "Amp capture" end
  local file = name .. ".nam" -- beside the project
  local options = {di_item = guids[1], reamp_item = guids[2], epochs = math.floor(epochs), name = name, output = file}
  if reaper.file_exists(rb.join(path:match("^(.*)[/\\]"), file)) then
    if reaper.ShowMessageBox(file .. " exists beside the project. Replace it?", "reabridge", 4) ~= 6 then return end
    options.overwrite = true
  end
  rb.run("amp_capture", options)
end)
