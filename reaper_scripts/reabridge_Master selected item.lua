-- @description reabridge: Master selected item...
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Masters the selected item (a rendered mix) with a preset chosen from a menu, to
--   the loudness target and true-peak ceiling you confirm, as a new take.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1, 1)
  if not guids then return rb.message(problem) end
  local preset = rb.choose_preset()
  if not preset then return end
  local answers = rb.ask("reabridge: master with " .. preset.name,
    {{"Loudness target (LUFS)", preset.lufs}, {"True-peak ceiling (dBTP)", preset.true_peak}})
  if not answers then return end
  local lufs, bad = rb.number(answers[1], "loudness target", -40, -3)
  if not lufs then return rb.message(bad) end
  local ceiling, bad2 = rb.number(answers[2], "true-peak ceiling", -12, 0)
  if not ceiling then return rb.message(bad2) end
  rb.run("master", {preset = preset.name, target_lufs = lufs, ceiling = ceiling}, guids)
end)
