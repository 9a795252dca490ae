-- The Lua helper tests' view of the real rule sandbox (tests/lua/runner.c
-- runs every tests/lua/*_test.lua inside it).  Modules and rule files are
-- loaded by the engine's own require and environments; events and JSON
-- views are the engine's, made from audit Event JSON.  Only what a test must
-- vary is the harness's: which local modules exist, and which state tables a
-- loaded rule shares with an earlier load.
--
--   H.new{modules = {name = false | "lua source" | function}} -> env
--       a fresh environment, as a rule file gets, whose require loads every
--       module afresh; `modules` replaces lualib/ modules for the names given
--       (false: missing; source: loaded from the string; function: called
--       with the name, its result is the module)
--   H.run_file(path, {modules =, tables =}) -> true, value | false, err
--       runs a rule file like the engine; kguard.table handles it opens are
--       also stored in `tables` by name, and a second run with the same
--       `tables` shares them (a reload), a new `tables` starts empty
--   H.view(value) -> the engine's JSON view of value (a Lua table; H.NULL
--       is JSON null, H.array{} an empty array); valid until the next view
--       or event
--   H.event(fields) -> the engine's event for an audit Event with these
--       fields (verb, resource, subresource, namespace, name, api_group,
--       request_uri, username, groups, anonymous, success, status_code,
--       level, stage, user_agent, source_ips, annotations, body =
--       requestObject, response_object); valid until the next view or event
local H = {}

local G = harness.globals()
local real_require = G.require
local real_table = G.kguard.table

H.NULL = setmetatable({}, { __name = "json null" })
H.ARRAY = {}
function H.array(t) return setmetatable(t or {}, H.ARRAY) end

-- ---- JSON text from Lua values ---------------------------------------------

local function is_array(t)
  if getmetatable(t) == H.ARRAY then return true end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  if n == 0 then return false end
  for i = 1, n do
    if rawget(t, i) == nil then return false end
  end
  return true
end

local function encode(v)
  if v == H.NULL or v == nil then return "null" end
  local ty = type(v)
  if ty == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif ty == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("JSON has no " .. tostring(v)) end
    return math.type(v) == "integer" and tostring(v) or string.format("%.17g", v)
  elseif ty == "boolean" then
    return tostring(v)
  elseif ty ~= "table" then
    error("cannot encode a " .. ty .. " as JSON")
  end
  local out = {}
  if is_array(v) then
    for i = 1, #v do out[i] = encode(v[i]) end
    return "[" .. table.concat(out, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for i, k in ipairs(keys) do
    local x = v[k]
    if x == nil then x = v[tonumber(k)] end
    out[i] = encode(k) .. ":" .. encode(x)
  end
  return "{" .. table.concat(out, ",") .. "}"
end
H.encode = encode

-- ---- environments and modules ----------------------------------------------

local function fresh_env()
  return setmetatable({}, { __index = G })
end

-- require with the test's replacements; everything else is the engine's.
local function use_modules(overrides)
  harness.forget_modules()
  G.require = function(name)
    local ov = overrides[name]
    if ov == nil then return real_require(name) end
    if ov == false then error("module '" .. name .. "' not found in lualib", 0) end
    local value
    if type(ov) == "string" then
      local chunk, err = load(ov, "=" .. name, "t", fresh_env())
      if not chunk then error(err, 0) end
      value = chunk(name)
    else
      value = ov(name)
    end
    if value == nil then value = true end
    overrides[name] = function() return value end
    return value
  end
end

function H.new(opts)
  local copy = {}
  for k, v in pairs((opts or {}).modules or {}) do copy[k] = v end
  use_modules(copy)
  return fresh_env()
end

-- State tables: names are kept apart per `tables` registry, so a rule
-- loaded with a new registry starts empty and one loaded again with the
-- same registry sees what the first load stored.
local registries = setmetatable({}, { __mode = "k" })
local n_registries = 0

local function use_tables(tables)
  tables = tables or {}
  if not registries[tables] then
    n_registries = n_registries + 1
    registries[tables] = "t" .. n_registries .. "/"
  end
  local prefix = registries[tables]
  -- the kguard table rules see is read-only: the harness puts a copy of it
  -- (with its own table opener) in the shared globals
  local k = {}
  for name, f in pairs(G.kguard) do k[name] = f end
  k.table = function(name, topts)
    local t = real_table(prefix .. name, topts)
    tables[name] = t
    return t
  end
  G.kguard = k
end

function H.run_file(path, opts)
  opts = opts or {}
  H.new(opts)
  use_tables(opts.tables)
  local chunk, err = harness.loadfile(path)
  if not chunk then return false, err end
  return pcall(chunk)
end

-- ---- events and views ------------------------------------------------------

local AUDIT_ID = 0

-- An audit Event as the API server writes it, from the test's fields.
local function audit_event(f)
  AUDIT_ID = AUDIT_ID + 1
  local verb = f.verb or "create"
  local anonymous = f.anonymous == true
  local success = f.success ~= false
  local code = f.status_code or (success and (verb == "create" and 201 or 200) or 403)
  local ref
  if f.resource then
    ref = { resource = f.resource, subresource = f.subresource, namespace = f.namespace,
            name = f.name, apiGroup = f.api_group, apiVersion = "v1" }
  end
  local uri = f.request_uri
  if not uri and f.resource then
    uri = (f.api_group and ("/apis/" .. f.api_group .. "/v1") or "/api/v1")
      .. (f.namespace and ("/namespaces/" .. f.namespace) or "") .. "/" .. f.resource
      .. (f.name and ("/" .. f.name) or "") .. (f.subresource and ("/" .. f.subresource) or "")
  end
  local status = { metadata = {}, code = code }
  local annotations = f.annotations or { ["authorization.k8s.io/decision"] = "allow",
                                         ["authorization.k8s.io/reason"] = "" }
  if code == 403 then
    status.status, status.reason = "Failure", "Forbidden"
    if not f.annotations then annotations["authorization.k8s.io/decision"] = "forbid" end
  end
  return {
    kind = "Event", apiVersion = "audit.k8s.io/v1",
    level = f.level or (f.body ~= nil and "Request" or "Metadata"),
    auditID = string.format("5e0c7a4b-1d2f-4c3e-9a8b-%012d", AUDIT_ID),
    stage = f.stage or "ResponseComplete",
    requestURI = uri or "/", verb = verb,
    user = anonymous and { username = "system:anonymous", groups = { "system:unauthenticated" } }
      or { username = f.username or "alice@example.com", groups = f.groups or { "system:authenticated" } },
    sourceIPs = f.source_ips or { "198.51.100.23" },
    userAgent = f.user_agent or "kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819",
    objectRef = ref, responseStatus = status,
    requestObject = f.body, responseObject = f.response_object,
    requestReceivedTimestamp = "2024-05-02T09:14:07.412345Z",
    stageTimestamp = "2024-05-02T09:14:07.431207Z",
    annotations = annotations,
  }
end

function H.event(fields)
  return harness.event(encode(audit_event(fields)))
end

function H.view(v)
  if v == H.NULL then return nil end
  if type(v) ~= "table" then return v end
  return harness.event(encode(audit_event({ verb = "get", body = v }))).request_object
end

return H
