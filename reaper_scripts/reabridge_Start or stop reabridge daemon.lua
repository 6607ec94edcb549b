-- @description reabridge: Start/stop reabridge daemon
-- @version 0.1.0
-- @author reabridge
-- @noindex
-- @about
--   Starts the reabridge daemon (with the command 'reabridge install' recorded) when
--   it is not running, or asks it to stop when it is. Jobs still running are queued
--   again and run when it is back.
-- @changelog
--   First release.

local rb = dofile(debug.getinfo(1, "S").source:match("^@?(.*[/\\])") .. "reabridge_lib.lua")

rb.action(function()
  local spool = rb.config().spool
  if rb.daemon_alive(spool) then
    if reaper.ShowMessageBox("The reabridge daemon is running. Stop it?", "reabridge", 4) ~= 6 then return end
    rb.write_atomic(rb.join(spool, "stop"), "")
    return rb.message("asked the reabridge daemon to stop")
  end
  local ok, why = rb.start_daemon()
  if not ok then return rb.message(why .. "\n\n(run 'reabridge doctor' in a terminal to see what is missing)") end
  rb.message("started the reabridge daemon")
end)
