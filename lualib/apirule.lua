-- apirule.lua: constructor for the 20 API-tactic rules.
--
-- A rule file calls it with a small table and returns the result:
--
--     return (require("apirule"){
--       type        = "Discovery:Kubernetes/TorIPCaller",
--       tactic      = "discovery",      -- a key of lualib/catalog.lua
--       caller      = "tor",            -- "tor" | "malicious" | "custom" | "anonymous"
--       severity    = "Medium",         -- "High" | "Medium" | "Low" | number in [1, 10)
--       title       = "...",            -- one line
--       description = "...",
--       remediation = "...",
--       enabled     = false,            -- optional, default true
--     })
--
-- Keep the parentheses around the call: without them `return f{...}` is a tail
-- call, the rule file's frame is gone when apirule raises an error, and the
-- message can no longer name the rule file's line.
--
-- The result is a plain rule table with only the rule keys (type, severity,
-- title, description, remediation, match, predicate when needed (below), and
-- enabled when given).  `match`
-- is derived from the caller kind:
--     tor        {api = catalog[tactic], ip_list = "tor"}
--     malicious  {api = catalog[tactic], ip_list = "malicious"}
--     custom     {api = catalog[tactic], ip_list = "custom"}
--                (anonymous callers from a listed address fire too, as in
--                GuardDuty, whose remediation for these types addresses
--                system:anonymous; they are also SuccessfulAnonymousAccess
--                when the request succeeded)
--     anonymous  {api = catalog[tactic], anonymous = true, success = true,
--                 exclude_paths = paths.health}
-- Lists are copied, so a rule can never change the catalog or another rule.
-- When the tactic's list holds an entry with a body condition (catalog
-- CONDITIONS, e.g. "create secrets": service-account-token Secrets only), the
-- rule also gets a predicate that checks it for those calls (and passes every
-- other call); its sentence becomes the finding's detail.  When it names a
-- health path ("get /version"), the list rules' predicate also passes over
-- anonymous requests to the health paths (as exclude_paths does for the
-- anonymous rules).
--
-- Bad input (missing or unknown fields, unknown tactic or caller, a type that
-- does not fit tactic and caller, a bad severity) raises an error that points
-- at the line of the rule file that called apirule.

local catalog = require("catalog")
local paths = require("paths")

-- tactic key -> type prefix
local TACTICS = {
  credential_access = "CredentialAccess",
  defense_evasion = "DefenseEvasion",
  discovery = "Discovery",
  impact = "Impact",
  persistence = "Persistence",
}

-- caller kind -> type suffix
local CALLERS = {
  tor = "TorIPCaller",
  malicious = "MaliciousIPCaller",
  custom = "MaliciousIPCaller.Custom",
  anonymous = "SuccessfulAnonymousAccess",
}

local FIELDS = {
  type = true, tactic = true, caller = true, severity = true, title = true,
  description = true, remediation = true, enabled = true,
}

local SEVERITY_NAMES = { High = true, Medium = true, Low = true }

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  return table.concat(keys, ", ")
end

local function copy(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = v end
  return out
end

local function type_name(tactic, caller)
  local prefix, suffix = TACTICS[tactic], CALLERS[caller]
  if prefix == nil or suffix == nil then return nil end
  return prefix .. ":Kubernetes/" .. suffix
end

-- Level 3: fail (1) <- build (2) <- the rule file (3).  Never call fail in a
-- tail position (`return fail(...)`), that would drop a level.
local function fail(spec, fmt, ...)
  local who = (type(spec) == "table" and type(spec.type) == "string")
    and ("apirule (" .. spec.type .. "): ") or "apirule: "
  error(who .. string.format(fmt, ...), 3)
end

-- Does the list hold an entry with a body condition?
local function has_conditions(api)
  for _, entry in ipairs(api) do
    local verb, resource, sub = catalog.parse(entry, true)
    if verb and catalog.condition(verb, resource, sub) then return true end
  end
  return false
end

-- Does the list name a health path ("get /version")?
local function has_health_path(api)
  for _, entry in ipairs(api) do
    local _, resource = catalog.parse(entry, true)
    if resource and resource:sub(1, 1) == "/" and paths.is_health(resource) then return true end
  end
  return false
end

-- Anonymous requests to the health paths are never API-tactic findings:
-- anyone may call them (system:public-info-viewer) and Internet scanners do.
local function predicate_for(api, caller)
  local conditions = has_conditions(api)
  local health = caller ~= "anonymous" and has_health_path(api)
  if not (conditions or health) then return nil end
  return function(ev)
    if health and ev.anonymous and ev.resource == nil and paths.is_health(ev.request_uri) then
      return false
    end
    local cond = conditions and catalog.condition(ev.verb, ev.resource, ev.subresource)
    if not cond then return true end
    local holds, detail = cond(ev)
    if not holds then return false end
    return detail and { detail = detail } or true
  end
end

local function build(_, spec)
  if type(spec) ~= "table" then
    fail(nil, "expected a table {type=..., tactic=..., caller=..., ...}, got a %s", type(spec))
  end
  for k in pairs(spec) do
    if not FIELDS[k] then
      fail(spec, "unknown field %s (allowed: %s)", tostring(k), sorted_keys(FIELDS))
    end
  end
  for _, k in ipairs({ "type", "tactic", "caller", "severity", "title", "description", "remediation" }) do
    if spec[k] == nil then fail(spec, "missing field %s", k) end
  end
  for _, k in ipairs({ "type", "tactic", "caller", "title", "description", "remediation" }) do
    if type(spec[k]) ~= "string" or not spec[k]:find("%S") then
      fail(spec, "field %s must be a non-empty string", k)
    end
  end
  if TACTICS[spec.tactic] == nil then
    fail(spec, "unknown tactic %q (expected one of: %s)", spec.tactic, sorted_keys(TACTICS))
  end
  if CALLERS[spec.caller] == nil then
    fail(spec, "unknown caller %q (expected one of: %s)", spec.caller, sorted_keys(CALLERS))
  end
  local expected = type_name(spec.tactic, spec.caller)
  if spec.type ~= expected then
    fail(spec, "type %q does not fit tactic %q and caller %q (expected %q)",
      spec.type, spec.tactic, spec.caller, expected)
  end
  local sev = spec.severity
  if not (SEVERITY_NAMES[sev] or (math.type(sev) ~= nil and sev >= 1 and sev < 10)) then
    fail(spec, "severity must be \"High\", \"Medium\", \"Low\" or a number in [1, 10), got %s",
      tostring(sev))
  end
  if spec.title:find("[\r\n]") then
    fail(spec, "title must be one line")
  end
  if spec.enabled ~= nil and type(spec.enabled) ~= "boolean" then
    fail(spec, "field enabled must be a boolean")
  end

  local api = catalog[spec.tactic]
  if type(api) ~= "table" or #api == 0 then
    fail(spec, "catalog has no entries for tactic %q", spec.tactic)
  end
  local match = { api = copy(api) }
  if spec.caller ~= "anonymous" then
    match.ip_list = spec.caller
  else
    match.anonymous = true
    match.success = true
    match.exclude_paths = copy(paths.health)
  end

  local rule = {
    type = spec.type,
    severity = sev,
    title = spec.title,
    description = spec.description,
    remediation = spec.remediation,
    match = match,
  }
  rule.predicate = predicate_for(match.api, spec.caller)
  if spec.enabled ~= nil then rule.enabled = spec.enabled end
  return rule
end

return setmetatable({
  TACTICS = TACTICS,
  CALLERS = CALLERS,
  type_name = type_name,
}, { __call = build })
