-- @description reabridge: Show reabridge jobs
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Lists recent reabridge jobs with their state. Choosing a queued or running job
--   offers to cancel it; choosing a finished job that REAPER has not applied yet
--   applies it; otherwise its outcome is shown.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

local SHOWN = 20
local MARK = {queued = "waiting", running = "running", done = "done", error = "failed", cancelled = "cancelled"}

local function recent(spool)
  local folder, jobs = rb.join(spool, "status"), {}
  local i = 0
  while true do
    local name = reaper.EnumerateFiles(folder, i)
    if not name then break end
    if name:match("%.json$") and not name:match("^%.") then
      local ok, status = pcall(rb.json_decode, rb.read_file(rb.join(folder, name)) or "")
      if ok and type(status) == "table" and type(status.id) == "string" then jobs[#jobs + 1] = status end
    end
    i = i + 1
  end
  table.sort(jobs, function(a, b) return tostring(a.queued_at or "") > tostring(b.queued_at or "") end)
  return jobs
end

local function line(status)
  local what = status.state == "running" and status.percent ~= rb.null and status.percent
    and (status.percent .. "%") or MARK[status.state] or tostring(status.state)
  local text = type(status.result) == "table" and status.result.summary or status.message
  text = (text ~= rb.null and text or ""):gsub("|", "/"):sub(1, 70)
  return string.format("%s -- %s%s", status.id, what, text ~= "" and (": " .. text) or "")
end

rb.action(function()
  local spool = rb.config().spool
  local jobs = recent(spool)
  if #jobs == 0 then return rb.message("no reabridge jobs yet" .. (rb.daemon_alive(spool) and ""
    or " (the daemon is not running)")) end
  local entries = {(rb.daemon_alive(spool) and "#daemon running" or "#daemon not running")}
  for n = 1, math.min(SHOWN, #jobs) do entries[#entries + 1] = line(jobs[n]) end
  local choice = rb.menu(entries)
  if not choice or choice == 1 then return end
  local status = jobs[choice - 1]
  if status.state == "queued" or status.state == "running" then
    if reaper.ShowMessageBox("Cancel " .. status.id .. "?", "reabridge", 4) == 6 then
      reaper.RecursiveCreateDirectory(rb.join(spool, "cancel"), 0)
      rb.write_atomic(rb.join(spool, "cancel", status.id), "")
    end
  elseif status.state == "done" and type(status.apply) == "table" then
    local ok, why = rb.apply(status.apply)
    if ok == nil then return rb.message(why) end
    rb.message(ok and "applied " .. status.id or (status.id .. " was applied before; nothing changed"))
  else
    local result = type(status.result) == "table" and status.result or {}
    rb.message(status.id .. ": " .. (MARK[status.state] or tostring(status.state)) .. "\n\n"
      .. tostring(result.summary or status.message or ""))
  end
end)
