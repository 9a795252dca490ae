-- An emulation of the rule sandbox described in the kguard contract, so the
-- Lua tests load rule files and lualib modules the way the C core will:
-- only the listed globals, no io/os/load/loadfile/dofile/debug/package, a
-- `require` that loads only lualib/ modules (require("a.b") -> lualib/a/b.lua),
-- and a `kguard` table.
--
-- sandbox.new{modules = {name = false | "lua source" | function}} returns a
-- fresh environment.  `modules` overrides lualib/ for the names given:
--   false     -> the module is reported missing ("module 'name' not found")
--   "source"  -> the module is loaded from that string (chunk name "=name")
--   function  -> called with the module name, its result is the module value
-- Paths are relative: run the tests from the project root.
--
-- Fakes of the engine's newer parts (contract part 2), for the rule tests:
--   kguard.table(name[, {max_entries=, ttl=}]) -> a state table with
--       has/add/get/set/incr/remove/size; tables live in opts.tables (a plain
--       Lua table, name -> fake) so a test can share or inspect them, else in
--       a fresh registry per sandbox.  Oldest entries are evicted beyond
--       max_entries (evictions counted in .evictions); ttl is recorded only.
--   M.view(value) -> what the engine hands Lua for a JSON value: scalars as
--       they are, objects/arrays as read-only proxies that answer only keys of
--       the right kind (strings for objects, integers for arrays), # (element
--       or member count), pairs/ipairs, :totable(); M.NULL in a test table
--       stands for JSON null (read as nil).  Inside a sandbox, type() says
--       "userdata" for these proxies, as it would for the engine's views.
--   M.event(fields) -> a fake event: the contract's fields (verb, resource,
--       subresource, namespace, name, request_uri, level, username,
--       anonymous, success, status_code, ...; body = a plain table), with
--       ev.body, ev.pod_spec, ev.workload_kind and ev.query(name) derived as
--       the contract says.  Reading an unknown field raises, as in the engine.

local M = {}

-- Proxies made by M.view / M.event; env.type reports them as userdata.
local proxies = setmetatable({}, { __mode = "k" })

M.NULL = setmetatable({}, { __name = "json null", __tostring = function() return "null" end })

local BASE = {
  "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
  "type", "xpcall", "rawequal", "rawget", "rawlen", "rawset", "setmetatable", "getmetatable",
}

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

function M.new(opts)
  opts = opts or {}
  local overrides = opts.modules or {}
  local env = {}
  for _, name in ipairs(BASE) do env[name] = _G[name] end
  env.string = copy(string)
  env.string.dump = nil
  env.table = copy(table)
  env.math = copy(math)
  env.utf8 = copy(utf8)
  local has_lpeg, lpeg = pcall(require, "lpeg")
  if has_lpeg then env.lpeg = lpeg end
  local tables = opts.tables or {}
  env.kguard = {
    log = function() end,
    ip_in = function() return false end,
    table = function(name, topts) return M.state_table(tables, name, topts) end,
  }
  env.type = function(v)
    if proxies[v] then return "userdata" end
    return type(v)
  end
  env._G = env

  local loaded = {}
  env.require = function(name)
    if type(name) ~= "string" or not name:match("^[%w_]+[%w_.]*$")
        or name:find("..", 1, true) or name:sub(-1) == "." then
      error("bad module name " .. tostring(name), 2)
    end
    if loaded[name] ~= nil then return loaded[name] end
    if name == "urlquery" and overrides[name] == nil then
      -- built into kguard (src/lua_urlquery.c); this copy stands in for it
      loaded[name] = { values = function(uri, q) return M.query_values(uri, q) end }
      return loaded[name]
    end
    local chunk
    local ov = overrides[name]
    if ov == false then
      error("module '" .. name .. "' not found:\n\tno file 'lualib/" .. name .. ".lua'", 0)
    elseif type(ov) == "string" then
      chunk = assert(load(ov, "=" .. name, "t", env))
    elseif type(ov) == "function" then
      chunk = ov
    else
      local path = "lualib/" .. name:gsub("%.", "/") .. ".lua"
      local fh = io.open(path, "r")
      if not fh then
        error("module '" .. name .. "' not found:\n\tno file '" .. path .. "'", 0)
      end
      fh:close()
      local err
      chunk, err = loadfile(path, "t", env)
      if not chunk then
        error("error loading module '" .. name .. "' from file '" .. path .. "':\n\t" .. err, 0)
      end
    end
    local value = chunk(name)
    if value == nil then value = true end
    loaded[name] = value
    return value
  end
  return env
end

-- ---- kguard.table ----------------------------------------------------------

local State = {}
State.__index = State

local function key_of(k)
  if type(k) == "number" then return tostring(k) end
  if type(k) ~= "string" then error("state table keys are strings or numbers, got a " .. type(k), 3) end
  return k
end

function State:has(k) return self.values[key_of(k)] ~= nil end

function State:get(k) return self.values[key_of(k)] end

function State:_put(k, v)
  if self.values[k] == nil then
    self.order[#self.order + 1] = k
    self.values[k] = v
    self.count = self.count + 1
    while self.count > self.max_entries do
      local old = table.remove(self.order, 1)
      if self.values[old] ~= nil then
        self.values[old] = nil
        self.count = self.count - 1
        self.evictions = self.evictions + 1
      end
    end
  else
    self.values[k] = v
  end
end

function State:add(k)
  k = key_of(k)
  if self.values[k] ~= nil then return false end
  self:_put(k, 0)
  return true
end

function State:set(k, v)
  if type(v) ~= "number" then error("state table values are numbers, got a " .. type(v), 2) end
  self:_put(key_of(k), v)
end

function State:incr(k, n)
  k = key_of(k)
  local v = (self.values[k] or 0) + (n or 1)
  self:_put(k, v)
  return v
end

function State:remove(k)
  k = key_of(k)
  if self.values[k] ~= nil then
    self.values[k] = nil
    self.count = self.count - 1
    for i, o in ipairs(self.order) do
      if o == k then table.remove(self.order, i) break end
    end
  end
end

function State:size() return self.count end

function M.state_table(registry, name, topts)
  if type(name) ~= "string" or name == "" then
    error("kguard.table: the name must be a non-empty string", 3)
  end
  if topts ~= nil and type(topts) ~= "table" then
    error("kguard.table: options must be a table", 3)
  end
  topts = topts or {}
  for k in pairs(topts) do
    if k ~= "max_entries" and k ~= "ttl" then error("kguard.table: unknown option " .. tostring(k), 3) end
  end
  local t = registry[name]
  if t == nil then
    t = setmetatable({
      name = name, values = {}, order = {}, count = 0, evictions = 0,
      max_entries = topts.max_entries or 100000, ttl = topts.ttl or 0,
    }, State)
    registry[name] = t
  end
  return t
end

-- ---- JSON views -------------------------------------------------------------

local function is_array(t)
  if getmetatable(t) == M.ARRAY then return true end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  if n == 0 then return false end
  for i = 1, n do
    if rawget(t, i) == nil then return false end
  end
  return true
end

-- M.array{} marks an empty table as a JSON array (plain {} reads as an object).
M.ARRAY = {}
function M.array(t) return setmetatable(t or {}, M.ARRAY) end

local function deep_copy(v)
  if v == M.NULL then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  return out
end

function M.view(v)
  if v == M.NULL then return nil end
  if type(v) ~= "table" then return v end
  local arr = is_array(v)
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  local p = setmetatable({}, {
    __index = function(_, k)
      if arr then
        if math.type(k) == "integer" then return M.view(v[k]) end
      elseif type(k) == "string" then
        local x = v[k]
        if x ~= nil then return M.view(x) end
      end
      if k == "totable" then return function() return deep_copy(v) end end
      return nil
    end,
    __newindex = function() error("audit events are read-only", 2) end,
    __len = function() return #keys end,
    __pairs = function()
      local i = 0
      return function()
        i = i + 1
        local k = keys[i]
        if k == nil then return nil end
        return k, M.view(v[k])
      end
    end,
    __tostring = function() return "json view" end,
  })
  proxies[p] = true
  return p
end

-- ---- fake events --------------------------------------------------------------

local POD_SPEC_PATH = {
  pods = { "spec" },
  deployments = { "spec", "template", "spec" },
  daemonsets = { "spec", "template", "spec" },
  statefulsets = { "spec", "template", "spec" },
  replicasets = { "spec", "template", "spec" },
  jobs = { "spec", "template", "spec" },
  replicationcontrollers = { "spec", "template", "spec" },
  cronjobs = { "spec", "jobTemplate", "spec", "template", "spec" },
  podtemplates = { "template", "spec" },
}

local EVENT_FIELDS = {
  audit_id = true, stage = true, level = true, verb = true, request_uri = true, user_agent = true,
  username = true, resource = true, subresource = true, namespace = true, name = true,
  api_group = true, api_version = true, status_code = true, decision = true, anonymous = true,
  success = true, received_at = true, user = true, groups = true, source_ips = true,
  impersonated_user = true, object_ref = true, request_object = true, response_object = true,
  annotations = true, response_status = true,
  body = true, pod_spec = true, workload_kind = true,
}

local function unescape(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function query_values(uri, name)
  local out = {}
  local q = type(uri) == "string" and uri:match("%?(.*)$")
  if not q then return out end
  for part in q:gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=?(.*)$")
    if unescape(k) == name then out[#out + 1] = unescape(v) end
  end
  return out
end

M.query_values = function(uri, name)
  if type(name) ~= "string" then return {} end
  return query_values(uri, name)
end

-- fields.body: the effective object (plain table); pod_spec and workload_kind
-- are derived from it and fields.resource unless given.
function M.event(fields)
  local f = {}
  for k, v in pairs(fields) do f[k] = v end
  if f.anonymous == nil then f.anonymous = false end
  if f.success == nil then f.success = true end
  local path = POD_SPEC_PATH[f.resource]
  if f.workload_kind == nil and path and f.resource ~= "podtemplates" then
    f.workload_kind = f.resource
  end
  if f.pod_spec == nil and path and type(f.body) == "table" then
    local x = f.body
    for _, k in ipairs(path) do
      x = type(x) == "table" and not is_array(x) and x[k] or nil
    end
    if type(x) == "table" then f.pod_spec = x end
  end
  local ev = setmetatable({}, {
    __index = function(_, k)
      if k == "query" then
        return function(name) return query_values(f.request_uri, name) end
      end
      if k == "get" then
        error("the fake event has no get()", 2)
      end
      if not EVENT_FIELDS[k] then
        error("the event has no field '" .. tostring(k) .. "'", 2)
      end
      return M.view(f[k])
    end,
    __newindex = function() error("audit events are read-only", 2) end,
    __tostring = function() return "event" end,
  })
  proxies[ev] = true
  return ev
end

-- Loads rules.d/FILE (or any path) in a fresh sandbox and runs it.
-- Returns true, value or false, error message.
function M.run_file(path, opts)
  local env = M.new(opts)
  local chunk, err = loadfile(path, "t", env)
  if not chunk then return false, err end
  return pcall(chunk)
end

return M
