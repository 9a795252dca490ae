-- lualib/apirule.lua: the match built for each caller kind, the shape of the
-- result, and errors that point at the calling rule file's line.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local env = sandbox.new { modules = { catalog_local = false } }
local apirule = env.require("apirule")
local catalog = env.require("catalog")
local paths = env.require("paths")

local PREFIX = {
  credential_access = "CredentialAccess", defense_evasion = "DefenseEvasion",
  discovery = "Discovery", impact = "Impact", persistence = "Persistence",
}
local SUFFIX = {
  tor = "TorIPCaller", malicious = "MaliciousIPCaller",
  custom = "MaliciousIPCaller.Custom", anonymous = "SuccessfulAnonymousAccess",
}
local RULE_KEYS = "description,match,remediation,severity,title,type"
local PRED_KEYS = "description,match,predicate,remediation,severity,title,type"

local function spec(tactic, caller, extra)
  local s = {
    type = PREFIX[tactic] .. ":Kubernetes/" .. SUFFIX[caller],
    tactic = tactic, caller = caller, severity = "High",
    title = "A title", description = "A description.", remediation = "Do something.",
  }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

T.ok(pcall(apirule, spec("discovery", "tor")), "apirule is callable (a read-only module whose __call works)")

for tactic in pairs(PREFIX) do
  for caller in pairs(SUFFIX) do
    local name = tactic .. "/" .. caller
    local okc, rule = pcall(apirule, spec(tactic, caller))
    if T.ok(okc, name .. ": builds", not okc and rule or nil) then
      local has_pred = tactic == "credential_access" or tactic == "persistence"
        or (tactic == "discovery" and caller ~= "anonymous")
      T.is(T.keys(rule), has_pred and PRED_KEYS or RULE_KEYS,
        name .. ": only the rule keys" .. (has_pred and " and a predicate" or ""))
      T.is(rule.type, PREFIX[tactic] .. ":Kubernetes/" .. SUFFIX[caller], name .. ": type")
      local m = rule.match
      T.same_list(m.api, catalog[tactic], name .. ": match.api is the tactic's catalog list")
      T.ok(m.api ~= catalog[tactic], name .. ": match.api is a copy")
      if caller ~= "anonymous" then
        -- every list kind reports anonymous callers too (no `anonymous` key)
        T.is(T.keys(m), "api,ip_list", name .. ": match keys")
        T.is(m.ip_list, caller, name .. ": ip_list " .. caller)
      else
        T.is(T.keys(m), "anonymous,api,exclude_paths,success", name .. ": match keys")
        T.is(m.anonymous, true, name .. ": anonymous only")
        T.is(m.success, true, name .. ": successful only")
        T.same_list(m.exclude_paths, paths.health, name .. ": health paths excluded")
        T.ok(m.exclude_paths ~= paths.health, name .. ": exclude_paths is a copy")
      end
    end
  end
end

do
  local r = apirule(spec("impact", "tor", { enabled = false, severity = 7.5 }))
  T.is(r.enabled, false, "enabled is passed through")
  T.is(r.severity, 7.5, "a numeric severity in [1, 10) is accepted")
  T.is(T.keys(r), "description,enabled,match,remediation,severity,title,type", "enabled is the only extra key")
  local a = apirule(spec("impact", "tor"))
  a.match.api[1] = "get nothing"
  T.ok(catalog.impact[1] ~= "get nothing", "changing a rule's api list leaves the catalog alone")
  T.ok(apirule(spec("impact", "tor")).match.api ~= a.match.api, "each rule gets its own list")
end

-- Predicates: anonymous health probes and Secret types.
do
  local d = apirule(spec("discovery", "malicious"))
  T.is(d.predicate({ anonymous = true, request_uri = "/version?timeout=32s" }), false,
    "discovery/malicious: an anonymous /version probe is passed over")
  T.is(d.predicate({ anonymous = false, request_uri = "/version?timeout=32s" }), true,
    "discovery/malicious: an authenticated /version counts")
  T.is(d.predicate({ anonymous = true, request_uri = "/api" }), true,
    "discovery/malicious: an anonymous /api counts")
  T.is(d.predicate({ anonymous = true, verb = "get", resource = "pods", request_uri = "/api/v1/pods" }), true,
    "discovery/malicious: resource requests pass")
  T.is(apirule(spec("discovery", "anonymous")).predicate, nil,
    "discovery/anonymous: no predicate (exclude_paths covers the health paths)")
  local c = apirule(spec("credential_access", "tor"))
  T.is(c.predicate({ verb = "create", resource = "secrets", body = { type = "Opaque" } }), false,
    "credential_access/tor: an Opaque Secret create does not count")
  local r = c.predicate({ verb = "create", resource = "secrets",
    body = { type = "kubernetes.io/service-account-token" } })
  T.ok(type(r) == "table" and r.detail:find("service-account-token", 1, true), "a token Secret counts, with a detail")
  T.is(c.predicate({ verb = "get", resource = "secrets" }), true, "other calls pass")
  T.is(apirule(spec("impact", "custom")).predicate, nil, "impact: no predicate")
end

-- Errors: the chunk calls apirule on line 3; the message must name that line.
local CHUNK = "rules.d/bad_rule.lua"
local function bad(fields)
  local src = "-- a broken rule\nlocal apirule = require('apirule')\nreturn (apirule{" .. fields .. "})\n"
  local f = assert(load(src, "@" .. CHUNK, "t", env))
  return f
end
local GOOD = "type = 'Discovery:Kubernetes/TorIPCaller', tactic = 'discovery', caller = 'tor', "
  .. "severity = 'Medium', title = 't', description = 'd', remediation = 'r'"
T.lives(function() assert(bad(GOOD)()) end, "the well-formed base case builds")

local CASES = {
  { "unknown tactic", GOOD:gsub("tactic = 'discovery'", "tactic = 'recon'"), { "unknown tactic", "recon" } },
  { "unknown caller", GOOD:gsub("caller = 'tor'", "caller = 'vpn'"), { "unknown caller", "vpn" } },
  { "missing title", GOOD:gsub("title = 't', ", ""), { "missing field title" } },
  { "missing type", GOOD:gsub("type = '[^']*', ", ""), { "missing field type" } },
  { "missing severity", GOOD:gsub("severity = 'Medium', ", ""), { "missing field severity" } },
  { "missing remediation", GOOD:gsub(", remediation = 'r'", ""), { "missing field remediation" } },
  { "missing description", GOOD:gsub("description = 'd', ", ""), { "missing field description" } },
  { "empty description", GOOD:gsub("description = 'd'", "description = '  '"), { "description", "non-empty" } },
  { "unknown field", GOOD .. ", remediaton = 'x'", { "unknown field remediaton" } },
  { "type/tactic mismatch", GOOD:gsub("tactic = 'discovery'", "tactic = 'impact'"), { "does not fit", "Impact:Kubernetes/TorIPCaller" } },
  { "bad severity name", GOOD:gsub("'Medium'", "'high'"), { "severity" } },
  { "severity 10", GOOD:gsub("'Medium'", "10"), { "severity" } },
  { "severity 0.5", GOOD:gsub("'Medium'", "0.5"), { "severity" } },
  { "two-line title", GOOD:gsub("title = 't'", "title = 'a\\nb'"), { "one line" } },
  { "enabled not boolean", GOOD .. ", enabled = 'yes'", { "enabled" } },
  { "tactic not a string", GOOD:gsub("tactic = 'discovery'", "tactic = 5"), { "tactic" } },
}
for _, c in ipairs(CASES) do
  local parts = { CHUNK .. ":3:" }
  for _, p in ipairs(c[3]) do parts[#parts + 1] = p end
  T.throws(bad(c[2]), parts, "rejects " .. c[1] .. " with " .. CHUNK .. ":3 in the message")
end
do
  local f = assert(load("\n\nreturn (require('apirule')('x'))\n", "@" .. CHUNK, "t", env))
  T.throws(f, { CHUNK .. ":3:", "expected a table" }, "rejects a non-table argument")
  local g = assert(load("local r = require('apirule'){ tactic = 'discovery' }\nreturn r\n", "@" .. CHUNK, "t", env))
  T.throws(g, { CHUNK .. ":1:", "missing field type" }, "the local-variable form also names the line")
end

T.done()
