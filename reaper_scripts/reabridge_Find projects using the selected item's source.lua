-- @description reabridge: Find projects using the selected item's source
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Lists the indexed .RPP projects (indexed with 'reabridge library index') that use the
--   selected item's source file: the same file by its content (a copy or a renamed file
--   counts), or a file the item's audio was found in by its fingerprint. Nothing in the
--   project changes.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

rb.action(function()
  local proj, why = rb.project()
  if not proj then return rb.message(why) end
  local guids, problem = rb.selected(proj, 1, 1)
  if not guids then return rb.message(problem) end
  rb.run("library_find", {mode = "projects"}, guids, function(status)
    if status.state ~= "done" then return end
    local matches, lines = rb.library_matches(status), {}
    for i, m in ipairs(matches) do
      lines[i] = tostring(m.project) .. "\n    " .. tostring(m.media) .. " (" .. tostring(m.how) .. ")"
    end
    if #lines == 0 then
      return rb.message("no indexed project uses this item's source", "reabridge: projects using the source")
    end
    rb.message(table.concat(lines, "\n"), "reabridge: projects using the source")
  end)
end)
