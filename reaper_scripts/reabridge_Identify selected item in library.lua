-- @description reabridge: Identify selected item in library
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Looks each selected audio item up in the reabridge library (landmark fingerprints of the
--   files indexed with 'reabridge library index') and writes the answer into the item's notes:
--   "from <file> at 1:23.4" -- which take, sample or song the item's audio comes from, and
--   where in it. A noisy, EQ'd, re-encoded or slightly sped-up item is still found; when nothing
--   is certain the item gets no line ("no match": a false match is worse than none). The answer
--   is also shown. Pressing it again replaces the line it wrote. One undo step.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1)
  if not guids then return rb.message(problem) end
  rb.run("library_find", {}, guids, function(status)
    if status.state ~= "done" then return end
    local result = type(status.result) == "table" and status.result or {}
    local lines = type(result.done) == "table" and result.done or {}
    if #lines > 0 then rb.message(table.concat(lines, "\n"), "reabridge: identify in library") end
  end)
end)
