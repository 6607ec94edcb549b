-- @description reabridge: machine-learning tools in REAPER's Actions list
-- @version 0.1.0
-- @author reabridge
-- @about
--   The REAPER side of reabridge: one action per job (transcribe to MIDI, amp captures,
--   mastering, tempo, the jobs list, starting and stopping the daemon) and the library
--   they share -- JSON, the daemon's spool folder (requests written under a temporary
--   name, then renamed), the project's identity and state, polling a request's status
--   with reaper.defer (no fixed time-out: a job that still reports progress is never
--   abandoned), a small progress window, errors, and applying a result REAPER's Python
--   could not apply (its chunk text) in one undo block.
--
--   The daemon itself is a Python program: install it with pip and run
--   'reabridge install' once (it also registers these actions without ReaPack).
-- @provides
--   [nomain] .
--   [main] reabridge_Transcribe selected items to MIDI.lua
--   [main] reabridge_Render selected items through amp capture.lua
--   [main] reabridge_Create amp capture from selected DI and re-amp items.lua
--   [main] reabridge_Master selected item.lua
--   [main] reabridge_Insert mastering chain JSFX on master.lua
--   [main] reabridge_Detect tempo from selected item and write tempo map.lua
--   [main] reabridge_Show reabridge jobs.lua
--   [main] reabridge_Start or stop reabridge daemon.lua
--   [main] reabridge_Split selected item by speaker.lua
--   [main] reabridge_Transcribe speech in selected items.lua
--   [main] reabridge_Find in transcript.lua
--   [main] reabridge_Export transcript as SRT.lua
--   [main] reabridge_Clean up selected items.lua
--   [main] reabridge_Split selected item into vocals and accompaniment.lua
--   [main] reabridge_Tune selected items.lua
--   [main] reabridge_Identify selected item in library.lua
--   [main] reabridge_Find projects using the selected item's source.lua
--   [main] reabridge_Find similar sounds to the selected item.lua
--   [main] reabridge_server.py
-- @changelog
--   First release.

local rb = {}
rb.VERSION = "0.1.0"
rb.null = setmetatable({}, {__tostring = function() return "null" end})
local ARRAY = {}

--------------------------------------------------------------------------------------------
-- JSON
--------------------------------------------------------------------------------------------
function rb.array(t)
  return setmetatable(t or {}, ARRAY)
end

local function is_array(t)
  if getmetatable(t) == ARRAY then return true end
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n > 0 and n == #t
end

local ESCAPES = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n',
                 ['\r'] = '\\r', ['\t'] = '\\t'}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function encode(v, out)
  local kind = type(v)
  if v == nil or v == rb.null then
    out[#out + 1] = "null"
  elseif kind == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif kind == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("JSON cannot hold " .. tostring(v)) end
    out[#out + 1] = math.type(v) == "integer" and string.format("%d", v) or string.format("%.17g", v)
  elseif kind == "string" then
    out[#out + 1] = encode_string(v)
  elseif kind == "table" then
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then error("JSON object keys must be text") end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encode_string(k)
        out[#out + 1] = ":"
        encode(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    error("JSON cannot hold a " .. kind)
  end
end

function rb.json_encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

local function decoder(s)
  local pos = 1
  local function fail(what) error(string.format("not valid JSON (%s at character %d)", what, pos)) end
  local function skip() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local c = s:sub(pos, pos)
      if c == "" then fail("unfinished text") end
      if c == '"' then pos = pos + 1; return table.concat(out) end
      if c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        local simple = ({b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/"})[e]
        if simple then
          out[#out + 1] = simple; pos = pos + 2
        elseif e == "u" then
          local code = tonumber(s:sub(pos + 2, pos + 5), 16) or fail("bad \\u escape")
          pos = pos + 6
          if code >= 0xD800 and code <= 0xDBFF and s:sub(pos, pos + 1) == "\\u" then
            local low = tonumber(s:sub(pos + 2, pos + 5), 16) or fail("bad \\u escape")
            code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
            pos = pos + 6
          end
          out[#out + 1] = utf8.char(code)
        else
          fail("bad escape")
        end
      else
        local stop = s:find('["\\]', pos) or #s + 1
        out[#out + 1] = s:sub(pos, stop - 1)
        pos = stop
      end
    end
  end
  function value()
    skip()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1; skip()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        skip()
        if s:sub(pos, pos) ~= '"' then fail("expected a key") end
        local k = str()
        skip()
        if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        t[k] = value()
        skip()
        local sep = s:sub(pos, pos); pos = pos + 1
        if sep == "}" then return t end
        if sep ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      local t = rb.array()
      pos = pos + 1; skip()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        t[#t + 1] = value()
        skip()
        local sep = s:sub(pos, pos); pos = pos + 1
        if sep == "]" then return t end
        if sep ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5; return false
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4; return rb.null
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" then fail("unexpected character") end
      pos = pos + #num
      return math.tointeger(tonumber(num)) or tonumber(num)
    end
  end
  return function()
    local v = value()
    skip()
    if pos <= #s then fail("trailing characters") end
    return v
  end
end

function rb.json_decode(s)
  return decoder(s)()
end

--------------------------------------------------------------------------------------------
-- Files and folders
--------------------------------------------------------------------------------------------
rb.SEP = package.config:sub(1, 1)

function rb.join(...)
  return table.concat({...}, rb.SEP)
end

function rb.read_file(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local data = fh:read("a")
  fh:close()
  return data
end

--- Write a file so a reader sees all of it or nothing: a temporary name, then a rename.
function rb.write_atomic(path, data)
  local folder, name = path:match("^(.*)[/\\]([^/\\]+)$")
  local tmp = rb.join(folder, "." .. name .. ".tmp")
  local fh = assert(io.open(tmp, "wb"))
  fh:write(data)
  fh:close()
  os.remove(path) -- Windows cannot rename onto an existing file
  local ok, err = os.rename(tmp, path)
  if not ok then
    os.remove(tmp)
    error("cannot write " .. path .. ": " .. tostring(err))
  end
end

function rb.folder()
  local folder = rb.join(reaper.GetResourcePath(), "reabridge")
  reaper.RecursiveCreateDirectory(folder, 0)
  return folder
end

--- Settings written by 'reabridge install' (reabridge/config.json in the resource path).
function rb.config()
  local text = rb.read_file(rb.join(rb.folder(), "config.json"))
  local ok, config = pcall(rb.json_decode, text or "{}")
  if not ok or type(config) ~= "table" then config = {} end
  config.spool = config.spool or rb.join(rb.folder(), "spool")
  return config
end

--------------------------------------------------------------------------------------------
-- The project
--------------------------------------------------------------------------------------------
local function norm(guid)
  return (guid or ""):gsub("[{}%s]", ""):upper()
end

--- The project in front and its file (nil and a reason when it was never saved).
function rb.project()
  local proj, path = reaper.EnumProjects(-1)
  if not proj or path == "" then
    return nil, "save the project first: reabridge puts new media beside it"
  end
  return proj, path
end

--- The project's reabridge identity (a GUID in its ext state), made on first use.
function rb.project_id(proj)
  local _, id = reaper.GetProjExtState(proj, "REABRIDGE", "project_id")
  if id == "" then
    id = reaper.genGuid("")
    reaper.SetProjExtState(proj, "REABRIDGE", "project_id", id)
  end
  return id
end

function rb.item_guid(item)
  local _, guid = reaper.GetSetMediaItemInfo_String(item, "GUID", "", false)
  return guid
end

function rb.selected_guids(proj)
  local guids = rb.array()
  for i = 0, reaper.CountSelectedMediaItems(proj) - 1 do
    guids[#guids + 1] = rb.item_guid(reaper.GetSelectedMediaItem(proj, i))
  end
  return guids
end

local function fmt(x)
  if math.type(x) == "integer" then return tostring(x) end
  local s = string.format("%.14f", x):gsub("0+$", ""):gsub("%.$", "")
  return s == "-0" and "0" or s
end

local function between(chunk, head)
  local rows = {}
  for row in (chunk .. "\n"):gmatch("(.-)\r?\n") do rows[#rows + 1] = row end
  for i, row in ipairs(rows) do
    if row:match("^%s*(.-)%s*$"):sub(1, #head) == head then
      local depth = 0
      for j = i, #rows do
        local s = rows[j]:match("^%s*(.-)%s*$")
        if s:sub(1, 1) == "<" then depth = depth + 1 elseif s == ">" then depth = depth - 1 end
        if depth == 0 then return table.concat(rows, "\n", i, j) end
      end
    end
  end
  return nil
end

local function chunk_of(getter, handle)
  local ok, text = getter(handle, "", false)
  if not ok then error("REAPER did not give the state of an item or track") end
  return text
end

--- The project as REAPER holds it now, as RPP text (what a job reads; the file may be older).
function rb.project_state(proj)
  local lines = {'<REAPER_PROJECT 0.1 "' .. reaper.GetAppVersion() .. '" 0'}
  local srate = reaper.GetSetProjectInfo(proj, "PROJECT_SRATE", 0, false)
  if srate > 0 then lines[#lines + 1] = "  SAMPLERATE " .. math.floor(srate) .. " 1 0" end
  local record = reaper.GetProjectPathEx(proj)
  if record ~= "" then lines[#lines + 1] = '  RECORD_PATH "' .. record:gsub('"', "'") .. '" ""' end
  local bpm = reaper.GetProjectTimeSignature2(proj)
  local num, den, points = 4, 4, {}
  for i = 0, reaper.CountTempoTimeSigMarkers(proj) - 1 do
    local _, timepos, _, _, pbpm, pnum, pden, linear = reaper.GetTempoTimeSigMarker(proj, i)
    if i == 0 and pnum > 0 then num, den = pnum, pden end
    local point = "    PT " .. fmt(timepos) .. " " .. fmt(pbpm) .. " " .. (linear and 0 or 1)
    if pnum > 0 then point = point .. " " .. (pnum + 65536 * pden) end
    points[#points + 1] = point
  end
  lines[#lines + 1] = "  TEMPO " .. fmt(bpm) .. " " .. num .. " " .. den
  if #points > 0 then
    lines[#lines + 1] = "  <TEMPOENVEX"
    for _, p in ipairs(points) do lines[#lines + 1] = p end
    lines[#lines + 1] = "  >"
  end
  local total = reaper.CountProjectMarkers(proj)
  for i = 0, total - 1 do
    local _, isrgn, pos, rgnend, name, number, color = reaper.EnumProjectMarkers3(proj, i)
    local _, guid = reaper.GetSetProjectInfo_String(proj, "MARKER_GUID:" .. i, "", false)
    if guid == "" then guid = "{}" end
    lines[#lines + 1] = "  MARKER " .. number .. " " .. fmt(pos) .. ' "' .. name:gsub('"', "'") .. '" '
      .. (isrgn and 1 or 0) .. " " .. color .. " 1 R " .. guid .. " 0"
    if isrgn then lines[#lines + 1] = "  MARKER " .. number .. " " .. fmt(rgnend) .. ' "" 1' end
  end
  local fx = between(chunk_of(reaper.GetTrackStateChunk, reaper.GetMasterTrack(proj)), "<FXCHAIN")
  if fx then lines[#lines + 1] = "  <MASTERFXLIST" .. fx:sub(#"<FXCHAIN" + 1) end
  for i = 0, reaper.CountTracks(proj) - 1 do
    lines[#lines + 1] = chunk_of(reaper.GetTrackStateChunk, reaper.GetTrack(proj, i)):gsub("\n+$", "")
  end
  local ext = {}
  local i = 0
  while true do
    local ok, key, val = reaper.EnumProjExtState(proj, "REABRIDGE", i)
    if not ok then break end
    ext[#ext + 1] = "      " .. key .. ' "' .. val:gsub('"', "'") .. '"'
    i = i + 1
  end
  if #ext > 0 then
    lines[#lines + 1] = "  <EXTSTATE"
    lines[#lines + 1] = "    <REABRIDGE"
    for _, e in ipairs(ext) do lines[#lines + 1] = e end
    lines[#lines + 1] = "    >"
    lines[#lines + 1] = "  >"
  end
  lines[#lines + 1] = ">"
  return table.concat(lines, "\n") .. "\n"
end

--------------------------------------------------------------------------------------------
-- Requests and the daemon
--------------------------------------------------------------------------------------------
function rb.new_id(job)
  local t = reaper.time_precise()
  return (job:gsub("_", "-")) .. "-" .. string.format("%08x%04x", math.floor(t * 1000) % 0xFFFFFFFF,
    math.random(0, 0xFFFF))
end

local function utc_now()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

--- A request for the daemon (the JSON of 'reabridge requests schema').
--- items: {selected = true} or {guids = {...}}; nil for jobs without items.
function rb.request(job, options, items)
  local proj, path = rb.project()
  if not proj then return nil, path end
  local id = rb.new_id(job)
  local request = {version = 1, id = id, job = job, created = utc_now(), handoff = true,
                   project = {path = path, id = rb.project_id(proj)}, options = options or {}}
  if items then request.items = items end
  return request
end

--- Write the request (and the project as REAPER holds it) into the spool; the daemon takes it from there.
function rb.submit(request)
  local spool = rb.config().spool
  reaper.RecursiveCreateDirectory(rb.join(spool, "requests"), 0)
  reaper.RecursiveCreateDirectory(rb.join(spool, "snapshots"), 0)
  local proj = rb.project()
  local snapshot = rb.join(spool, "snapshots", request.id .. ".RPP")
  rb.write_atomic(snapshot, rb.project_state(proj))
  request.project.snapshot = snapshot
  rb.write_atomic(rb.join(spool, "requests", request.id .. ".json"), rb.json_encode(request))
  return spool
end

--- Whether a daemon serves the spool (its heartbeat is fresh).
function rb.daemon_alive(spool)
  local text = rb.read_file(rb.join(spool or rb.config().spool, "daemon.json"))
  if not text then return false end
  local ok, beat = pcall(rb.json_decode, text)
  return ok and type(beat) == "table" and type(beat.updated) == "number" and os.time() - beat.updated < 15
end

--- One argument of a command line as REAPER's ExecProcess splits it (double quotes on every system).
local function quote(arg)
  if arg:find('"', 1, true) then error("a path with a double quote cannot be passed to the daemon: " .. arg) end
  return '"' .. arg .. '"'
end

--- Start the daemon with the command 'reabridge install' recorded; false and why when that is impossible.
function rb.start_daemon()
  local command = rb.config().daemon_command
  if type(command) ~= "table" or #command == 0 then
    return false, "reabridge is not installed for this REAPER: run 'reabridge install' in a terminal"
  end
  local parts = {}
  for i, arg in ipairs(command) do parts[i] = quote(arg) end
  if reaper.ExecProcess(table.concat(parts, " "), -1) == nil then
    return false, "REAPER could not start the reabridge daemon (" .. command[1] .. ")"
  end
  return true
end

function rb.ensure_daemon()
  local spool = rb.config().spool
  if rb.daemon_alive(spool) then return true end
  local ok, why = rb.start_daemon()
  if not ok then return false, why end
  return true, "started the reabridge daemon; it is getting ready"
end

--------------------------------------------------------------------------------------------
-- Applying a result REAPER's Python could not apply (the same steps as the server's)
--------------------------------------------------------------------------------------------
local function tracks(proj)
  local out = {}
  for i = 0, reaper.CountTracks(proj) - 1 do out[#out + 1] = reaper.GetTrack(proj, i) end
  return out
end

local function find_track(proj, ref)
  if ref == "master" then return reaper.GetMasterTrack(proj) end
  local all = tracks(proj)
  if math.type(ref) == "integer" then
    if ref >= 0 and ref < #all then return all[ref + 1] end
    error("there is no track number " .. (ref + 1))
  end
  for _, tr in ipairs(all) do
    if norm(reaper.GetTrackGUID(tr)) == norm(ref) then return tr end
  end
  error("no track with GUID " .. tostring(ref) .. " (was it deleted?)")
end

local function find_item(proj, guid)
  for _, tr in ipairs(tracks(proj)) do
    for i = 0, reaper.CountTrackMediaItems(tr) - 1 do
      local item = reaper.GetTrackMediaItem(tr, i)
      if norm(rb.item_guid(item)) == norm(guid) then return tr, item end
    end
  end
  return nil
end

local function rows_of(text)
  local rows = {}
  for row in (text:gsub("\n+$", "") .. "\n"):gmatch("(.-)\r?\n") do rows[#rows + 1] = row end
  return rows
end

local function strip(s) return s:match("^%s*(.-)%s*$") end

local function close_index(rows)
  for i = #rows, 1, -1 do if strip(rows[i]) == ">" then return i end end
  error("a state chunk without its closing line")
end

local function insert_rows(rows, at, text)
  for _, row in ipairs(rows_of(text)) do
    table.insert(rows, at, row)
    at = at + 1
  end
end

local APPLY = {}

function APPLY.add_track(proj, e)
  local all = tracks(proj)
  local index, depth_from = #all, nil
  if e.target ~= nil and e.target ~= rb.null then
    local ref = find_track(proj, e.target)
    for i, tr in ipairs(all) do if tr == ref then index = i end end
    local depth = reaper.GetMediaTrackInfo_Value(ref, "I_FOLDERDEPTH")
    if depth < 0 then depth_from = {ref, depth} end
  end
  reaper.InsertTrackAtIndex(index, false)
  local tr = reaper.GetTrack(proj, index)
  reaper.SetTrackStateChunk(tr, e.text, false)
  if depth_from then
    reaper.SetMediaTrackInfo_Value(depth_from[1], "I_FOLDERDEPTH", 0)
    reaper.SetMediaTrackInfo_Value(tr, "I_FOLDERDEPTH", depth_from[2])
  end
end

function APPLY.add_midi_item(proj, e)
  local item = reaper.AddMediaItemToTrack(find_track(proj, e.target))
  reaper.SetItemStateChunk(item, e.text, false)
end
APPLY.add_audio_item = APPLY.add_midi_item
APPLY.add_notes_item = APPLY.add_midi_item
APPLY.add_item_copy = APPLY.add_midi_item

local function item_or_fail(proj, guid)
  local _, item = find_item(proj, guid)
  if not item then error("no item with GUID " .. guid .. " (was it deleted?)") end
  return item
end

function APPLY.set_item_mute(proj, e)
  reaper.SetMediaItemInfo_Value(item_or_fail(proj, e.op.item), "B_MUTE", e.op.mute and 1 or 0)
end

function APPLY.set_item_notes(proj, e)
  reaper.GetSetMediaItemInfo_String(item_or_fail(proj, e.op.item), "P_NOTES", e.op.notes or "", true)
end

--- The take a take-marker operation names (its GUID, or the item's active take); nil when gone.
local function marked_take(proj, op)
  local _, item = find_item(proj, op.item)
  if not item then return nil end
  if op.take ~= nil and op.take ~= rb.null then return reaper.GetMediaItemTakeByGUID(proj, op.take) end
  return reaper.GetActiveTake(item)
end

function APPLY.add_take_marker(proj, e)
  local take = marked_take(proj, e.op)
  if not take then error("no take to mark on item " .. e.op.item .. " (was it deleted?)") end
  reaper.SetTakeMarker(take, -1, e.op.name, e.op.position, e.op.color or 0)
end

function APPLY.remove_take_marker(proj, e)
  local take = marked_take(proj, e.op)
  if not take then return end
  for i = 0, reaper.GetNumTakeMarkers(take) - 1 do
    local position, name = reaper.GetTakeMarker(take, i)
    if math.abs(position - e.op.position) <= 1e-6 and name == e.op.name then
      reaper.DeleteTakeMarker(take, i)
      return
    end
  end
end

function APPLY.add_audio_take(proj, e)
  local _, item = find_item(proj, e.target)
  if not item then error("no item with GUID " .. e.target .. " (was it deleted?)") end
  local rows = rows_of(chunk_of(reaper.GetItemStateChunk, item))
  if e.op.active ~= false then
    for i, row in ipairs(rows) do
      if strip(row):sub(1, 8) == "TAKE SEL" then rows[i] = row:gsub("TAKE SEL", "TAKE", 1) end
    end
  end
  insert_rows(rows, close_index(rows), e.text)
  reaper.SetItemStateChunk(item, table.concat(rows, "\n") .. "\n", false)
end

function APPLY.add_js_effect(proj, e)
  local tr = find_track(proj, e.target)
  local rows = rows_of(chunk_of(reaper.GetTrackStateChunk, tr))
  local start
  for i, row in ipairs(rows) do if strip(row):sub(1, 8) == "<FXCHAIN" then start = i; break end end
  if not start then
    local at = close_index(rows)
    for i, row in ipairs(rows) do if strip(row):sub(1, 5) == "<ITEM" then at = i; break end end
    insert_rows(rows, at, "<FXCHAIN\nSHOW 0\nLASTSEL 0\nDOCKED 0\n>")
    start = at
  end
  local depth, stop = 0, nil
  for j = start, #rows do
    local s = strip(rows[j])
    if s:sub(1, 1) == "<" then depth = depth + 1 elseif s == ">" then depth = depth - 1 end
    if depth == 0 then stop = j; break end
  end
  insert_rows(rows, stop, e.text)
  reaper.SetTrackStateChunk(tr, table.concat(rows, "\n") .. "\n", false)
end

function APPLY.remove_item(proj, e)
  local tr, item = find_item(proj, e.op.item)
  if item then reaper.DeleteTrackMediaItem(tr, item) end
end

function APPLY.remove_take(proj, e)
  local _, item = find_item(proj, e.op.item)
  if not item then return end
  local rows = rows_of(chunk_of(reaper.GetItemStateChunk, item))
  local starts = {}
  for i, row in ipairs(rows) do
    local first = strip(row):match("^(%S+)")
    if first == "TAKE" then starts[#starts + 1] = i end
  end
  local last = close_index(rows)
  for n, start in ipairs(starts) do
    local stop = (starts[n + 1] or last) - 1
    for j = start, stop do
      local guid = strip(rows[j]):match("^GUID (%S+)")
      if guid then
        if norm(guid) == norm(e.op.take) then
          for _ = start, stop do table.remove(rows, start) end
          reaper.SetItemStateChunk(item, table.concat(rows, "\n") .. "\n", false)
          return
        end
        break
      end
    end
  end
end

local function marker_index(proj, guid)
  local _, mapped = reaper.GetProjExtState(proj, "REABRIDGE", "marker." .. guid)
  local ok, index = reaper.GetSetProjectInfo_String(proj, "MARKER_INDEX_FROM_GUID:" .. (mapped ~= "" and mapped or guid),
    "", false)
  return ok and tonumber(index) or -1
end

function APPLY.add_marker(proj, e)
  local op = e.op
  local isrgn = op["end"] ~= nil and op["end"] ~= rb.null
  local index = reaper.AddProjectMarker2(proj, isrgn, op.position, isrgn and op["end"] or 0, op.name or "", -1,
    op.color or 0)
  for i = 0, reaper.CountProjectMarkers(proj) - 1 do
    local _, rgn, _, _, _, number = reaper.EnumProjectMarkers3(proj, i)
    if number == index and rgn == isrgn then
      local _, guid = reaper.GetSetProjectInfo_String(proj, "MARKER_GUID:" .. i, "", false)
      if guid ~= "" and norm(guid) ~= norm(op.guid) then
        reaper.SetProjExtState(proj, "REABRIDGE", "marker." .. op.guid, guid)
      end
      return
    end
  end
end

function APPLY.remove_marker(proj, e)
  local index = marker_index(proj, e.op.guid)
  if index >= 0 then
    reaper.DeleteProjectMarkerByIndex(proj, index)
    reaper.SetProjExtState(proj, "REABRIDGE", "marker." .. e.op.guid, "")
  end
end

function APPLY.remove_js_effect(proj, e)
  local ok, tr = pcall(find_track, proj, e.op.track)
  if not ok then return end
  local rows = rows_of(chunk_of(reaper.GetTrackStateChunk, tr))
  local at
  for i, row in ipairs(rows) do
    local fxid = strip(row):match("^FXID (%S+)")
    if fxid and norm(fxid) == norm(e.op.fxid) then at = i; break end
  end
  if not at then return end
  local start = at
  while start > 1 do
    local key = strip(rows[start - 1]):match("^(%S+)")
    if key == "WAK" or key == "FXID" or key == "SHOW" or key == "LASTSEL" or key == "DOCKED" then break end
    start = start - 1
    if key == "BYPASS" then break end
  end
  local stop = at
  while stop + 1 <= #rows and strip(rows[stop + 1]):sub(1, 3) == "WAK" do stop = stop + 1 end
  for _ = start, stop do table.remove(rows, start) end
  reaper.SetTrackStateChunk(tr, table.concat(rows, "\n") .. "\n", false)
end

function APPLY.set_tempo(proj, e)
  local op = e.op
  for i = reaper.CountTempoTimeSigMarkers(proj) - 1, 0, -1 do reaper.DeleteTempoTimeSigMarker(proj, i) end
  reaper.SetCurrentBPM(proj, op.bpm, false)
  local points = op.points or {}
  if #points == 0 then
    if op.numerator ~= 4 or op.denominator ~= 4 then
      reaper.SetTempoTimeSigMarker(proj, -1, 0, -1, -1, op.bpm, op.numerator, op.denominator, false)
    end
    return
  end
  table.sort(points, function(a, b) return a.time < b.time end)
  for _, p in ipairs(points) do
    local num = (p.numerator ~= rb.null and p.numerator) or 0
    local den = (p.denominator ~= rb.null and p.denominator) or 0
    reaper.SetTempoTimeSigMarker(proj, -1, p.time, -1, -1, p.bpm, num, den, p.linear == true)
  end
end

function APPLY.set_ext_state(proj, e)
  reaper.SetProjExtState(proj, "REABRIDGE", e.op.key, e.op.value or "")
end

--- The open project (any tab) a result is for: by its reabridge id, else by its file. nil when not open.
function rb.find_project(ref)
  local want = (ref.id ~= nil and ref.id ~= rb.null) and norm(ref.id) or nil
  local by_path
  local i = 0
  while true do
    local proj, path = reaper.EnumProjects(i)
    if not proj then break end
    local _, id = reaper.GetProjExtState(proj, "REABRIDGE", "project_id")
    if want and id ~= "" and norm(id) == want then return proj end
    if path ~= "" and path == ref.path and not (want and id ~= "" and norm(id) ~= want) then by_path = proj end
    i = i + 1
  end
  return by_path
end

--- Apply a result the daemon handed over (its chunk text), in ONE undo block: all of it, or nothing.
--- Returns true (applied), false (applied before: nothing to do), or nil and why.
function rb.apply(handoff)
  local proj = rb.find_project(handoff.project)
  if not proj then
    return nil, "open " .. tostring(handoff.project.path) .. " to receive this result, then choose it in "
      .. "'reabridge: Show reabridge jobs'"
  end
  local _, done = reaper.GetProjExtState(proj, "REABRIDGE", "applied." .. handoff.change_id)
  if done ~= "" then return false end
  reaper.Undo_BeginBlock2(proj)
  reaper.PreventUIRefresh(1)
  local ok, err = pcall(function()
    for _, e in ipairs(handoff.ops) do
      local apply = APPLY[e.kind] or error("unknown operation " .. tostring(e.kind))
      apply(proj, e)
    end
    reaper.SetProjExtState(proj, "REABRIDGE", "applied." .. handoff.change_id, handoff.created)
  end)
  reaper.PreventUIRefresh(-1)
  reaper.Undo_EndBlock2(proj, handoff.undo_name, -1)
  if not ok then
    reaper.Undo_DoUndo2(proj)
    return nil, "REAPER could not apply the result (" .. tostring(err) .. "); nothing was changed"
  end
  reaper.UpdateArrange()
  return true
end

--------------------------------------------------------------------------------------------
-- Watching a request: progress, the outcome, errors
--------------------------------------------------------------------------------------------
function rb.message(text, title)
  reaper.ShowMessageBox(text, title or "reabridge", 0)
end

local function draw(title, line, fraction)
  gfx.set(0.12, 0.12, 0.12)
  gfx.rect(0, 0, gfx.w, gfx.h, 1)
  gfx.set(0.9, 0.9, 0.9)
  gfx.x, gfx.y = 10, 8
  gfx.drawstr(title)
  gfx.x, gfx.y = 10, 28
  gfx.drawstr(line)
  gfx.set(0.3, 0.3, 0.3)
  gfx.rect(10, 50, gfx.w - 20, 10, 1)
  if fraction then
    gfx.set(0.2, 0.6, 0.9)
    gfx.rect(10, 50, math.floor((gfx.w - 20) * fraction), 10, 1)
  end
  gfx.update()
end

--- Follow a request until it ends (no time-out while the daemon is alive), then apply or report.
--- on_end(status) is called with the final status; note is shown until the daemon answers.
function rb.watch(request, on_end, note)
  local spool = rb.config().spool
  local path = rb.join(spool, "status", request.id .. ".json")
  local title = "reabridge: " .. request.job:gsub("_", " ")
  local window, last_alive, seen = false, reaper.time_precise(), false
  local started = reaper.time_precise()
  local function show(line, fraction)
    if reaper.time_precise() - started < 0.5 then return end -- quick jobs never flash a window
    if not window then gfx.init(title, 360, 70); window = true end
    draw(title, line, fraction)
    if gfx.getchar() < 0 then window = false end -- the user closed the window: keep watching quietly
  end
  local function finish(status)
    if window then gfx.quit() end
    local state = status.state
    if state == "done" and type(status.apply) == "table" then
      local ok, why = rb.apply(status.apply)
      if ok == nil then rb.message(why) end
    end
    local result = type(status.result) == "table" and status.result or {}
    if state == "done" and type(result.skipped) == "table" and #result.skipped > 0 then
      rb.message((result.summary or "done") .. "\n\nSkipped:\n" .. table.concat(result.skipped, "\n"))
    elseif state == "error" then
      rb.message(status.message or "the job failed")
    elseif state == "cancelled" then
      rb.message("cancelled")
    end
    if on_end then on_end(status) end
  end
  local function text(v) return (v ~= nil and v ~= rb.null) and tostring(v) or "" end
  local function poll()
    local ok, status = pcall(rb.json_decode, rb.read_file(path) or "")
    if ok and type(status) == "table" then
      if status.state == "done" or status.state == "error" or status.state == "cancelled" then
        return finish(status)
      end
      local line
      if status.state == "queued" and note then
        line = note
      elseif status.state == "queued" then
        line = "waiting" .. (text(status.position) ~= "" and (" (number " .. text(status.position) .. " in line)") or "")
      else
        line = (text(status.stage) ~= "" and text(status.stage) or "running") .. " " .. text(status.message)
      end
      show(line, status.progress ~= rb.null and status.progress or nil)
    else
      show(note or "waiting for the reabridge daemon")
    end
    if rb.daemon_alive(spool) then
      last_alive, seen = reaper.time_precise(), true
    elseif reaper.time_precise() - last_alive > 30 then
      if window then gfx.quit() end
      rb.message(seen and ("the reabridge daemon stopped before the job finished; it will run when the daemon is "
        .. "back (run 'reabridge doctor' to see why it stopped)")
        or "the reabridge daemon did not start; run 'reabridge doctor' in a terminal to see why")
      return
    end
    reaper.defer(poll)
  end
  poll()
end

--------------------------------------------------------------------------------------------
-- What the actions ask the user
--------------------------------------------------------------------------------------------
--- The selected items' GUIDs (nil and what to do when fewer than `least` or more than `most` are selected).
function rb.selected(proj, least, most)
  local guids = rb.selected_guids(proj)
  if #guids < (least or 1) then
    return nil, (least or 1) == 1 and "select an item first" or ("select " .. least .. " items first")
  end
  if most and #guids > most then
    return nil, most == 1 and "select just one item" or ("select at most " .. most .. " items")
  end
  return guids
end

--- A menu at the mouse; the chosen entry's index (1-based), or nil when the user dismissed it.
function rb.menu(entries)
  local x, y = reaper.GetMousePosition()
  gfx.init("reabridge", 0, 0, 0, x, y)
  gfx.x, gfx.y = gfx.screentoclient(x, y)
  local choice = gfx.showmenu(table.concat(entries, "|"))
  gfx.quit()
  if choice == nil or choice < 1 then return nil end
  return choice
end

--- A dialog with fields {{caption, default}, ...}; the answers as text, or nil when cancelled.
function rb.ask(title, fields)
  local captions, defaults = {}, {}
  for i, f in ipairs(fields) do
    captions[i] = f[1]:gsub(",", ";")
    defaults[i] = tostring(f[2] or ""):gsub(",", ";")
  end
  local ok, answer = reaper.GetUserInputs(title, #fields, table.concat(captions, ","), table.concat(defaults, ","))
  if not ok then return nil end
  local out = {}
  for value in (answer .. ","):gmatch("(.-),") do out[#out + 1] = value:match("^%s*(.-)%s*$") end
  return out
end

--- A number the user typed, or nil and a message naming the field.
function rb.number(text, what, low, high)
  local value = tonumber(text)
  if value == nil or value ~= value then return nil, what .. ": '" .. text .. "' is not a number" end
  if value < low or value > high then
    return nil, string.format("%s: %s is outside %g to %g", what, text, low, high)
  end
  return value + 0.0
end

--- The mastering presets 'reabridge install' listed (name, loudness, ceiling).
function rb.presets()
  local presets = rb.config().presets
  if type(presets) ~= "table" or #presets == 0 then
    presets = {{name = "streaming", lufs = -14.0, true_peak = -1.0}}
  end
  return presets
end

--- A preset chosen from a menu, or nil.
function rb.choose_preset()
  local presets, entries = rb.presets(), {}
  for i, p in ipairs(presets) do
    entries[i] = string.format("%s (%g LUFS, %g dBTP)", p.name, p.lufs, p.true_peak)
  end
  local choice = rb.menu(entries)
  return choice and presets[choice]
end

--------------------------------------------------------------------------------------------
-- Running an action
--------------------------------------------------------------------------------------------
--- What an action does: check the daemon, build and submit the request, follow it.
--- items: a list of item GUIDs (pinned when the user pressed the key), or nil;
--- on_end(status), if given, is called with the final status.
function rb.run(job, options, guids, on_end)
  local request, why = rb.request(job, options, guids and {guids = rb.array(guids)} or nil)
  if not request then return rb.message(why) end
  local ok, how = rb.ensure_daemon()
  if not ok then return rb.message(how .. "\n\n(run 'reabridge doctor' in a terminal to see what is missing)") end
  rb.submit(request)
  rb.watch(request, on_end, how)
  return request
end

--- Run an action's body; an error becomes one message instead of a script error dialog.
function rb.action(body)
  local ok, err = xpcall(body, debug.traceback)
  if not ok then
    reaper.ShowConsoleMsg("reabridge: " .. tostring(err) .. "\n")
    rb.message("reabridge: " .. tostring(err):match("^[^\n]*"):gsub("^.-:%d+: ", ""))
  end
end

--------------------------------------------------------------------------------------------
-- The library (reabridge library index/find)
--------------------------------------------------------------------------------------------
local SOURCE_TYPES = {wav = "WAVE", wave = "WAVE", aif = "WAVE", aiff = "WAVE", w64 = "WAVE", rf64 = "WAVE",
                      bwf = "WAVE", caf = "WAVE", flac = "FLAC", mp3 = "MP3", ogg = "VORBIS", oga = "VORBIS",
                      opus = "OPUS"}

--- The matches a finished library_find status holds (a list; empty when none).
function rb.library_matches(status)
  local result = type(status) == "table" and type(status.result) == "table" and status.result or {}
  local data = type(result.data) == "table" and result.data or {}
  return type(data.matches) == "table" and data.matches or {}
end

local function rpp_quote(text)
  if not text:find('"', 1, true) then return '"' .. text .. '"' end
  if not text:find("'", 1, true) then return "'" .. text .. "'" end
  return "`" .. text:gsub("`", "'") .. "`"
end

--- A new item playing `path` (`length` seconds) at the edit cursor on the selected track, as one undo step.
function rb.insert_media(proj, path, length)
  local track = reaper.GetSelectedTrack(proj, 0)
  if not track then return nil, "select a track to insert the sound on" end
  local kind = SOURCE_TYPES[(path:match("%.([^./\\]+)$") or ""):lower()]
  if not kind then return nil, "REAPER cannot play " .. path end
  local position = reaper.GetCursorPositionEx(proj)
  local name = path:match("([^/\\]+)$") or path
  reaper.Undo_BeginBlock2(proj)
  local item = reaper.AddMediaItemToTrack(track)
  reaper.SetItemStateChunk(item, table.concat({
    "<ITEM", "POSITION " .. fmt(position), "LENGTH " .. fmt(length), "IGUID " .. reaper.genGuid(""),
    "NAME " .. rpp_quote(name), "<SOURCE " .. kind, "FILE " .. rpp_quote(path), ">", ">"}, "\n") .. "\n",
    false)
  reaper.Undo_EndBlock2(proj, "reabridge: Insert similar sound", -1)
  reaper.UpdateArrange()
  return item
end

--------------------------------------------------------------------------------------------
-- Transcripts (the speech job's regions, markers, take markers and notes items)
--------------------------------------------------------------------------------------------
local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function item_number(chunk, key)
  return tonumber(chunk:match("\n%s*" .. key .. " ([^%s]+)")) or 0
end

--- Every transcript entry reabridge's speech job made that is still in the project, in time order:
--- {time, stop (nil for markers), text}. Found through the job's records (REABRIDGE ext state
--- 'made.<GUID>'), so other regions and markers are left out; names edited since are read as they are.
function rb.transcript(proj)
  local items = {}
  for t = 0, reaper.CountTracks(proj) - 1 do
    local track = reaper.GetTrack(proj, t)
    for j = 0, reaper.CountTrackMediaItems(track) - 1 do
      local item = reaper.GetTrackMediaItem(track, j)
      items[norm(rb.item_guid(item))] = item
    end
  end
  local entries, i = {}, 0
  while true do
    local ok, key, value = reaper.EnumProjExtState(proj, "REABRIDGE", i)
    if not ok then break end
    i = i + 1
    local guid = key:match("^made%.(.+)$")
    local job, source, _, what = (value or ""):match("^(%S+) (%S+) (%S+) (%S+)$")
    if guid and job == "speech" then
      what = unescape(what)
      if what == "regions" or what == "markers" then
        local index = marker_index(proj, guid)
        if index >= 0 then
          local _, isrgn, pos, stop, name = reaper.EnumProjectMarkers3(proj, index)
          entries[#entries + 1] = {time = pos, stop = isrgn and stop or nil, text = name}
        end
      elseif what == "notes" and items[norm(guid)] then
        local item = items[norm(guid)]
        local _, notes = reaper.GetSetMediaItemInfo_String(item, "P_NOTES", "", false)
        local _, chunk = reaper.GetItemStateChunk(item, "", false)
        local pos = item_number(chunk, "POSITION")
        entries[#entries + 1] = {time = pos, stop = pos + item_number(chunk, "LENGTH"), text = notes}
      elseif items[norm(source)] then
        local srcpos, name = what:match("^take%-marker (%S+) (.*)$")
        if srcpos then
          local _, chunk = reaper.GetItemStateChunk(items[norm(source)], "", false)
          local rate = item_number(chunk, "PLAYRATE")
          local pos = item_number(chunk, "POSITION") + (tonumber(srcpos) - item_number(chunk, "SOFFS")) /
            (rate > 0 and rate or 1)
          entries[#entries + 1] = {time = pos, text = unescape(name)}
        end
      end
    end
  end
  table.sort(entries, function(a, b) return a.time < b.time end)
  return entries
end

return rb
