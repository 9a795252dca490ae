-- lualib/catalog.lua: contents (against the contract), form of every entry,
-- helpers, and the catalog_local extension point.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local TACTICS = { "credential_access", "defense_evasion", "discovery", "impact", "persistence" }
local VERBS = {
  get = true, list = true, watch = true, create = true, update = true,
  patch = true, delete = true, deletecollection = true,
}

-- The catalog exactly as the contract lists it, spelled as verb x resource
-- products so that it is written independently of lualib/catalog.lua.
local function product(verbs, resources, out)
  for _, r in ipairs(resources) do
    for _, v in ipairs(verbs) do out[#out + 1] = v .. " " .. r end
  end
  return out
end
local WEBHOOKS = { "validatingwebhookconfigurations", "mutatingwebhookconfigurations" }
local CSR_APPROVAL = product({ "update", "patch" }, { "certificatesigningrequests/approval" }, {})
local function join(...)
  local out = {}
  for _, l in ipairs({ ... }) do for _, e in ipairs(l) do out[#out + 1] = e end end
  return out
end
local CONTRACT = {
  credential_access = join(product({ "get", "list", "watch" }, { "secrets", "configmaps" },
    { "create serviceaccounts/token", "create certificatesigningrequests", "create secrets" }),
    CSR_APPROVAL),
  defense_evasion = product({ "delete", "deletecollection", "update", "patch" }, { "events" },
    product({ "delete", "deletecollection", "update", "patch" }, WEBHOOKS,
      product({ "delete", "deletecollection" }, { "networkpolicies" }, {}))),
  discovery = product({ "get", "list", "watch" }, { "pods", "nodes", "namespaces" },
    product({ "list" }, { "services", "endpoints", "serviceaccounts", "deployments", "daemonsets",
      "statefulsets", "replicasets", "jobs", "cronjobs", "roles", "clusterroles", "rolebindings",
      "clusterrolebindings" },
      product({ "create" }, { "selfsubjectaccessreviews", "selfsubjectrulesreviews",
        "subjectaccessreviews", "selfsubjectreviews" },
        product({ "get" }, { "nodes/proxy", "/api", "/api/v1", "/apis", "/apis/*", "/openapi/v2",
          "/openapi/v3", "/openapi/v3/*", "/version" }, {})))),
  impact = product({ "delete", "deletecollection" }, { "pods", "deployments", "daemonsets",
      "statefulsets", "replicasets", "jobs", "cronjobs", "services", "namespaces",
      "persistentvolumeclaims", "persistentvolumes", "configmaps", "secrets", "nodes" },
    product({ "update", "patch" }, { "deployments", "daemonsets", "statefulsets", "replicasets",
      "deployments/scale", "statefulsets/scale", "replicasets/scale" }, { "create serviceaccounts" })),
  persistence = join(product({ "create", "update", "patch" }, { "cronjobs", "rolebindings",
      "clusterrolebindings", "roles", "clusterroles" },
    product({ "create" }, { "daemonsets", "deployments", "statefulsets", "replicasets", "jobs", "pods",
      "serviceaccounts", "serviceaccounts/token", "secrets", "certificatesigningrequests" },
      product({ "create", "update", "patch", "delete" }, WEBHOOKS, {}))), CSR_APPROVAL),
}

-- The catalog without any catalog_local, loaded as the rule sandbox would.
local function pristine(modules)
  local env = sandbox.new { modules = modules or { catalog_local = false } }
  return env.require("catalog")
end

local catalog = pristine()

-- tactics --------------------------------------------------------------------
T.is(T.keys(catalog), table.concat(TACTICS, ","), "pairs(catalog) yields exactly the five tactics")
T.same_list(catalog.TACTICS, TACTICS, "catalog.TACTICS lists them sorted")
T.is(type(catalog.has), "function", "catalog.has is exported")

-- form of every entry --------------------------------------------------------
for _, tactic in ipairs(TACTICS) do
  local list = catalog[tactic]
  T.ok(type(list) == "table" and #list > 0, tactic .. " is a non-empty list")
  local bad, seen, dups = {}, {}, {}
  for i, entry in ipairs(list) do
    local verb, rest = tostring(entry):match("^(%S+) (%S+)$")
    local res, sub = (rest or ""):match("^([^/]+)/([^/]+)$")
    res = res or rest
    local is_path = rest and rest:match("^/[a-z0-9/]*[a-z0-9*]$") and verb == "get"
    if not is_path and (type(entry) ~= "string" or not verb or not VERBS[verb]
        or not (res and res:match("^[a-z][a-z0-9-]*s$"))
        or (sub and not sub:match("^[a-z][a-z0-9-]*$"))) then
      bad[#bad + 1] = i .. ":" .. tostring(entry)
    end
    if seen[entry] then dups[#dups + 1] = entry end
    seen[entry] = true
  end
  T.ok(#bad == 0, tactic .. ": every entry is \"verb resource[/sub]\" with a known verb and a lowercase plural resource, or \"get /path\"",
    table.concat(bad, "\n"))
  T.ok(#dups == 0, tactic .. ": no duplicates", table.concat(dups, "\n"))
  T.is(#list, #CONTRACT[tactic], tactic .. ": as many entries as the contract")
  local missing, extra, want = {}, {}, {}
  for _, e in ipairs(CONTRACT[tactic]) do
    want[e] = true
    if not seen[e] then missing[#missing + 1] = e end
  end
  for _, e in ipairs(list) do if not want[e] then extra[#extra + 1] = e end end
  T.ok(#missing == 0 and #extra == 0, tactic .. ": same entries as the contract",
    "missing: " .. table.concat(missing, ", ") .. "\nextra: " .. table.concat(extra, ", "))
end

-- the contract's must-haves ----------------------------------------------------
local MUST = {
  { "credential_access", "get", "secrets" },
  { "defense_evasion", "delete", "events" },
  { "discovery", "list", "pods" },
  { "discovery", "list", "nodes" },
  { "discovery", "list", "namespaces" },
  { "discovery", "create", "selfsubjectaccessreviews" },
  { "impact", "delete", "deployments" },
  { "impact", "patch", "deployments" },
  { "persistence", "create", "cronjobs" },
  { "persistence", "create", "daemonsets" },
  { "persistence", "create", "clusterrolebindings" },
  { "persistence", "create", "rolebindings" },
  { "persistence", "create", "serviceaccounts", "token" },
}
for _, m in ipairs(MUST) do
  local entry = m[2] .. " " .. m[3] .. (m[4] and ("/" .. m[4]) or "")
  local found = false
  for _, e in ipairs(catalog[m[1]]) do if e == entry then found = true end end
  T.ok(found, m[1] .. " lists \"" .. entry .. "\"")
  T.ok(catalog.has(m[1], m[2], m[3], m[4]), "catalog.has(" .. m[1] .. ", " .. entry .. ")")
end

-- helpers ----------------------------------------------------------------------
T.ok(catalog.has("credential_access", "create", "serviceaccounts", "token"),
  "create serviceaccounts/token is credential access")
T.same_list(catalog.tactics_of("create", "serviceaccounts", "token"),
  { "credential_access", "persistence" }, "tactics_of: create serviceaccounts/token is in two tactics")
T.same_list(catalog.tactics_of("get", "pods", "log"), {}, "an entry without subresource does not match a subresource")
T.ok(not catalog.has("discovery", "get", "pods", "log"), "has: get pods does not cover get pods/log")
T.ok(catalog.has("discovery", "get", "pods", ""), "has: empty subresource is no subresource")
T.ok(not catalog.has("impact", "patch", "deployments", "status"), "has: patch deployments does not cover deployments/status")
T.ok(catalog.has("impact", "patch", "deployments", "scale"), "has: patch deployments/scale")
T.ok(not catalog.has("discovery", "delete", "pods"), "has: verb must match")
T.ok(catalog.has(nil, "delete", "pods"), "has: nil tactic means any tactic")
T.ok(not catalog.has(nil, "get", "leases"), "has: unknown call is in no tactic")
T.ok(not catalog.has("discovery", nil, "pods"), "has: nil verb is false")
T.throws(function() catalog.has("recon", "list", "pods") end, { "unknown tactic", "recon" },
  "has: unknown tactic is an error")
local v, r, s = catalog.parse("create pods/exec")
T.ok(v == "create" and r == "pods" and s == "exec", "parse splits verb, resource, subresource")
T.ok(catalog.parse("* secrets") == nil, "parse rejects * unless allowed")
T.ok(catalog.parse("* secrets", true) == "*", "parse accepts * when allowed")
T.ok(catalog.parse("list Pods") == nil, "parse rejects upper case")
T.ok(catalog.parse("list  pods") == nil, "parse rejects two spaces")
T.ok(catalog.parse("list pods/") == nil, "parse rejects empty subresource")
T.ok(catalog.parse("get") == nil, "parse rejects a bare verb")

-- paths (non-resource requests) -------------------------------------------------
T.ok(catalog.has("discovery", "get", "/api"), "has: get /api")
T.ok(catalog.has("discovery", "get", "/api/v1"), "has: get /api/v1")
T.ok(not catalog.has("discovery", "get", "/api/v2"), "has: /api/* is not listed, only /api/v1")
T.ok(catalog.has("discovery", "get", "/apis"), "has: get /apis")
T.ok(catalog.has("discovery", "get", "/apis/apps") and catalog.has("discovery", "get", "/apis/apps/v1"),
  "has: /apis/* covers /apis/GROUP and /apis/GROUP/VERSION")
T.ok(catalog.has("discovery", "get", "/openapi/v3/apis/apps/v1?hash=8F0C2A"), "has: /openapi/v3/* with a query")
T.ok(catalog.has("discovery", "get", "/openapi/v2?timeout=32s"), "has: a query is not part of the path")
T.ok(not catalog.has("discovery", "get", "/apisx"), "has: /apis/* does not cover /apisx")
T.ok(not catalog.has(nil, "get", "/healthz") and not catalog.has(nil, "get", "/metrics"),
  "has: /healthz and /metrics are in no tactic")
T.ok(not catalog.has("discovery", "post", "/api"), "has: the verb of a path entry must match")
local pv, pr, ps = catalog.parse("get /apis/*")
T.ok(pv == "get" and pr == "/apis/*" and ps == nil, "parse: a path entry")
T.ok(catalog.parse("list /api") == nil, "parse: list is not an HTTP verb")
T.ok(catalog.parse("get /a//b") == nil and catalog.parse("get /a/") == nil and catalog.parse("get /a*") == nil,
  "parse rejects //, a trailing / and a * that is not a last segment")
T.ok(catalog.parse("* /custom/*", true) == "*", "parse: \"*\" verb on a path when allowed")
T.same_list(catalog.tactics_of("create", "serviceaccounts"), { "impact", "persistence" },
  "tactics_of: create serviceaccounts is impact and persistence")
T.same_list(catalog.tactics_of("delete", "validatingwebhookconfigurations"), { "defense_evasion", "persistence" },
  "tactics_of: deleting a webhook is defense evasion and persistence")
T.same_list(catalog.tactics_of("update", "certificatesigningrequests", "approval"),
  { "credential_access", "persistence" }, "tactics_of: CSR approval")
T.same_list(catalog.tactics_of("get", "nodes", "proxy"), { "discovery" }, "tactics_of: get nodes/proxy")
T.same_list(catalog.tactics_of("create", "nodes", "proxy"), {}, "tactics_of: create nodes/proxy (kubelet exec/run) is in no API tactic")

-- conditions -------------------------------------------------------------------
local cond = catalog.condition("create", "secrets")
T.is(type(cond), "function", "create secrets has a condition")
T.is(catalog.condition("get", "secrets"), nil, "get secrets has none")
T.ok(cond({ body = nil }), "no body (Metadata level): the Secret counts")
local okt, detail = cond({ body = { type = "kubernetes.io/service-account-token",
  metadata = { annotations = { ["kubernetes.io/service-account.name"] = "deployer" } } } })
T.ok(okt, "a service-account-token Secret counts")
T.contains(detail, "for service account deployer", "its detail names the service account")
T.ok(not cond({ body = { type = "Opaque" } }), "an Opaque Secret does not count")
T.ok(not cond({ body = { data = {} } }), "a Secret without type (Opaque) does not count")
T.ok(cond({ body = { type = "kubernetes.io/service-account-token" } }), "no annotations: still counts")

-- catalog_local as a module the loader returns ------------------------------------
do
  local local_mod
  local function load_catalog()
    return sandbox.new { modules = { catalog_local = local_mod } }.require("catalog")
  end
  local_mod = function()
    return {
      discovery = { "list ingresses", "list pods" },   -- "list pods" already there
      impact = { "delete ingresses", "* leases" },
    }
  end
  local okr, c = pcall(load_catalog)
  T.ok(okr, "catalog loads with a catalog_local module", not okr and c or nil)
  if okr then
    T.is(c.discovery[#c.discovery], "list ingresses", "local discovery entry appended")
    local n = 0
    for _, e in ipairs(c.discovery) do if e == "list pods" then n = n + 1 end end
    T.is(n, 1, "a local entry already present is not added twice")
    T.is(#c.discovery, #CONTRACT.discovery + 1, "discovery grew by one")
    T.ok(c.has("impact", "delete", "ingresses"), "has sees a local entry")
    T.ok(c.has("impact", "update", "leases") and c.has("impact", "get", "leases"), "a local \"*\" verb matches any verb")
    T.ok(not c.has("impact", "update", "leases", "status"), "a local \"*\" entry still respects the subresource")
    T.is(#c.persistence, #CONTRACT.persistence, "tactics not named by catalog_local are unchanged")
  end

  local_mod = function() error("catalog_local exploded") end
  local okb, err = pcall(load_catalog)
  T.ok(not okb and tostring(err):find("catalog_local exploded", 1, true) ~= nil,
    "a catalog_local that raises makes catalog raise the same error", tostring(err))

  local_mod = function() return { recon = { "list pods" } } end
  okb, err = pcall(load_catalog)
  T.ok(not okb and tostring(err):find("unknown tactic recon", 1, true) ~= nil,
    "catalog_local with an unknown tactic is an error", tostring(err))

  local_mod = function() return { discovery = { "list Pods" } } end
  okb, err = pcall(load_catalog)
  T.ok(not okb and tostring(err):find("discovery[1]", 1, true) ~= nil,
    "catalog_local with a malformed entry is an error naming it", tostring(err))

  local_mod = function() return "nope" end
  okb, err = pcall(load_catalog)
  T.ok(not okb and tostring(err):find("must return a table", 1, true) ~= nil,
    "catalog_local returning a non-table is an error", tostring(err))
  local_mod = nil

  local okp, c2 = pcall(load_catalog)
  T.ok(okp, "catalog loads with the real lualib/ (catalog_local absent or valid)",
    not okp and c2 or nil)
end

-- catalog_local through the sandbox's require ----------------------------------
T.lives(function() pristine { catalog_local = false } end,
  "sandbox: a missing catalog_local is accepted")
T.ok(pristine { catalog_local = "return { persistence = { 'create pods' } }" }.has("persistence", "create", "pods"),
  "sandbox: catalog_local entries are merged")
T.throws(function() pristine { catalog_local = "return {" } end, "catalog_local",
  "sandbox: a catalog_local with a syntax error raises")
T.throws(function() pristine { catalog_local = "require('no_such_module_here') return {}" } end,
  "module 'no_such_module_here' not found",
  "sandbox: a catalog_local requiring a missing module raises (only its own absence is swallowed)")
T.throws(function() pristine { catalog_local = "return { discovery = 'list pods' }" } end,
  "must be a list", "sandbox: a tactic given as a string, not a list, raises")

T.done()
