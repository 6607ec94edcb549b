-- @description reabridge: Find similar sounds to the selected item
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Finds the ten sounds of the reabridge library nearest to the selected item in timbre and
--   envelope (MFCC statistics, attack, decay, brightness: "more kicks like this one") and
--   lists them in a menu, nearest first. Picking one inserts it at the edit cursor on the
--   selected track, as one undo step. (A ReaScript cannot show a list that reacts to a
--   double-click without a window of its own; the menu is REAPER's, and a click on an entry
--   is the double-click.)
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1, 1)
  if not guids then return rb.message(problem) end
  rb.run("library_find", {mode = "similar", top = 10}, guids, function(status)
    if status.state ~= "done" then return end
    local matches, entries = rb.library_matches(status), {}
    if #matches == 0 then return rb.message("nothing similar in the library") end
    for i, m in ipairs(matches) do
      local name = tostring(m.file):match("([^/\\]+)$") or tostring(m.file)
      entries[i] = string.format("%s  (%.2f)", name:gsub("|", "/"), tonumber(m.score) or 0)
    end
    local choice = rb.menu(entries)
    if not choice then return end
    local pick = matches[choice]
    local item, fail = rb.insert_media(proj, tostring(pick.file), tonumber(pick.duration) or 1.0)
    if not item then rb.message(fail) end
  end)
end)
