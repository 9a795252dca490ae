-- rules.d/: the 20 API-tactic rule files, each loaded in the rule sandbox.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local TACTICS = {
  { "credential_access", "CredentialAccess" },
  { "defense_evasion", "DefenseEvasion" },
  { "discovery", "Discovery" },
  { "impact", "Impact" },
  { "persistence", "Persistence" },
}
local CALLERS = {
  { "tor_ip_caller", "TorIPCaller" },
  { "malicious_ip_caller", "MaliciousIPCaller" },
  { "malicious_ip_caller_custom", "MaliciousIPCaller.Custom" },
  { "successful_anonymous_access", "SuccessfulAnonymousAccess" },
}
-- Default severities from the GuardDuty seed (see the contract).
local function seed_severity(prefix, suffix)
  if prefix == "Discovery" then return "Medium" end
  if prefix == "Persistence" then
    return suffix == "SuccessfulAnonymousAccess" and "High" or "Medium"
  end
  return "High"
end

local RULE_KEYS = "description,match,remediation,severity,title,type"
local PRED_KEYS = "description,match,predicate,remediation,severity,title,type"
local catalog = sandbox.new { modules = { catalog_local = false } }.require("catalog")
local HEALTH = { "/healthz", "/livez", "/readyz", "/version" }

local seen_types, count = {}, 0
for _, t in ipairs(TACTICS) do
  for _, c in ipairs(CALLERS) do
    local file = "rules.d/" .. t[1] .. "_" .. c[1] .. ".lua"
    local want_type = t[2] .. ":Kubernetes/" .. c[2]
    local okr, rule = sandbox.run_file(file, { modules = { catalog_local = false } })
    if T.ok(okr and type(rule) == "table", file .. ": loads in the sandbox and returns a table",
        not okr and tostring(rule) or nil) then
      count = count + 1
      -- a predicate where the tactic has body conditions (create secrets) or a health path (/version)
      local has_pred = t[1] == "credential_access" or t[1] == "persistence"
        or (t[1] == "discovery" and c[1] ~= "successful_anonymous_access")
      T.is(T.keys(rule), has_pred and PRED_KEYS or RULE_KEYS, file .. ": exactly the rule keys")
      T.is(rule.type, want_type, file .. ": type")
      T.ok(not seen_types[rule.type], file .. ": type not used by another file")
      seen_types[rule.type] = true
      T.is(rule.severity, seed_severity(t[2], c[2]), file .. ": seed severity")
      for _, k in ipairs({ "title", "description", "remediation" }) do
        T.ok(type(rule[k]) == "string" and rule[k]:find("%S") ~= nil, file .. ": non-empty " .. k)
      end
      T.ok(not rule.title:find("[\r\n]"), file .. ": one-line title")
      T.ok(#rule.title <= 100, file .. ": title is short (" .. #rule.title .. " chars)")
      T.ok(rule.title:find("GuardDuty", 1, true) == nil and rule.description:find("GuardDuty", 1, true) == nil,
        file .. ": texts do not mention GuardDuty")
      T.contains(rule.remediation, "kubectl", file .. ": remediation gives a kubectl command")
      local m = rule.match
      T.same_list(m.api, catalog[t[1]], file .. ": match.api is catalog." .. t[1])
      if c[1] == "tor_ip_caller" then
        T.is(T.keys(m), "api,ip_list", file .. ": match keys")
        T.is(m.ip_list, "tor", file .. ": tor list")
        -- Tor callers may be anonymous: the remediation must say what to do then.
        T.contains(rule.remediation, "system:anonymous", file .. ": remediation covers an anonymous Tor caller")
        T.contains(rule.remediation, "kubernetesUserDetails", file .. ": remediation points at the user details")
      elseif c[1] == "successful_anonymous_access" then
        T.is(T.keys(m), "anonymous,api,exclude_paths,success", file .. ": match keys")
        T.ok(m.anonymous == true and m.success == true, file .. ": anonymous and successful")
        T.same_list(m.exclude_paths, HEALTH, file .. ": health endpoints excluded")
        T.contains(rule.remediation, "system:anonymous", file .. ": remediation names the anonymous user")
        T.contains(rule.remediation, "system:unauthenticated", file .. ": remediation names the group too")
      else
        T.is(T.keys(m), "api,ip_list", file .. ": match keys (anonymous callers reported too)")
        T.is(m.ip_list, c[1]:find("custom") and "custom" or "malicious", file .. ": list kind")
        T.contains(rule.remediation, "kubernetesUserDetails", file .. ": remediation points at the user details")
        T.contains(rule.remediation, "system:anonymous", file .. ": remediation covers an anonymous caller")
        if c[1]:find("custom") then
          T.contains(rule.remediation, "threatListName", file .. ": remediation names the matched list")
        end
      end
    end

    -- Header comment and the no-tail-call form of the apirule call.
    local fh = io.open(file, "r")
    local text = fh and fh:read("a") or ""
    if fh then fh:close() end
    T.is(text:match("^([^\n]*)"), "-- " .. want_type, file .. ": first line names the type")
    local line_no, n = nil, 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      if not line_no and line:find('require("apirule")', 1, true) then line_no = n end
    end
    local probe = function() error("probe", 2) end
    local okp, err = sandbox.run_file(file, { modules = { catalog_local = false, apirule = function() return probe end } })
    T.ok(not okp and line_no and tostring(err):find(file .. ":" .. line_no .. ":", 1, true) ~= nil,
      file .. ": an apirule error names this file's line (no tail call)", tostring(err))
  end
end

T.is(count, 20, "all 20 rule files load")
local n = 0
for _ in pairs(seen_types) do n = n + 1 end
T.is(n, 20, "20 distinct types")

T.done()
