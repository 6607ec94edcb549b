-- @description reabridge: Render selected items through amp capture...
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Asks for a Neural Amp Modeler capture (.nam) -- the last one used in this project
--   is offered first -- and renders each selected DI item through it as a new take.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local KEY = "last_capture"

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1)
  if not guids then return rb.message(problem) end
  local _, last = reaper.GetProjExtState(proj, "REABRIDGE", KEY)
  local ok, model = reaper.GetUserFileNameForRead(last, "reabridge: amp capture to render through", ".nam")
  if not ok or model == "" then return end
  if not model:lower():match("%.nam$") then return rb.message(model .. " is not an amp capture (.nam)") end
  reaper.SetProjExtState(proj, "REABRIDGE", KEY, model)
  rb.run("amp_render", {model = model}, guids)
end)
