-- @description reabridge: Render selected items through amp capture...
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Offers the captures that come with reabridge, the last capture used in this project
--   and "Choose a .nam file...", then renders each selected DI item through the one
--   picked, as a new take.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local KEY = "last_capture"

--- Menu text shown as it is: gfx.showmenu reads a leading # ! < > and any | as markup.
local function label(text)
  local shown = text:gsub("|", "/"):gsub("^([#!<>])", " %1")
  return shown
end

--- The bundled captures 'reabridge install' listed: names a request may carry instead of a file.
local function bundled()
  local names, captures = {}, rb.config().captures
  if type(captures) ~= "table" then return names end
  for _, capture in ipairs(captures) do
    if type(capture) == "table" and type(capture.name) == "string" and capture.name ~= "" then
      names[#names + 1] = capture.name
    end
  end
  return names
end

--- A .nam file from REAPER's file dialog (starting at the last file used), or nil.
local function pick_file(last)
  local start = last:lower():match("%.nam$") and last or ""
  local ok, model = reaper.GetUserFileNameForRead(start, "reabridge: amp capture to render through", ".nam")
  if not ok or model == "" then return nil end
  return model
end

--- The capture to render through (a bundled name or a file), or nil when the user cancelled.
local function choose(last, names)
  local entries, values = {}, {}
  if last ~= "" then
    entries[1], values[1] = label("Last used: " .. (last:match("[^/\\]+$") or last)), last
  end
  for _, name in ipairs(names) do
    if name ~= last then
      entries[#entries + 1], values[#values + 1] = label(name), name
    end
  end
  if #names == 0 then return pick_file(last) end  -- installed by an older reabridge: files only
  entries[#entries + 1] = "Choose a .nam file..."
  local choice = rb.menu(entries)
  if not choice then return nil end
  if choice <= #values then return values[choice] end
  return pick_file(last)
end

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1)
  if not guids then return rb.message(problem) end
  local _, last = reaper.GetProjExtState(proj, "REABRIDGE", KEY)
  local names = bundled()
  local model = choose(last, names)
  if not model then return end
  local is_name = false
  for _, name in ipairs(names) do is_name = is_name or name == model end
  if not is_name and not model:lower():match("%.nam$") then
    return rb.message(model .. " is not an amp capture (.nam)")
  end
  reaper.SetProjExtState(proj, "REABRIDGE", KEY, model)
  rb.run("amp_render", {model = model}, guids)
end)
