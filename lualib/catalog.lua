-- catalog.lua: which Kubernetes API calls count as which attack tactic.
--
-- Each tactic maps to a list of "verb resource" or "verb resource/subresource"
-- strings, in the form the rules' `match.api` expects: the verb is the audit
-- event's `verb`, the resource is `objectRef.resource` (plural, lowercase) and
-- the optional part after "/" is `objectRef.subresource`.  An entry without a
-- subresource only matches requests that have none: "patch deployments" does
-- not cover "patch deployments/scale", which is listed on its own.
-- Non-resource requests (no objectRef: discovery documents, /version) are
-- "verb /path" (the requestURI without its query) or "verb /path/*" (every
-- path below /path, not /path itself).
--
-- A few entries hold only for some request bodies: CONDITIONS maps such an
-- entry to a function(ev) -> boolean, detail (see `conditions` below); the
-- API-tactic rules (apirule.lua) check it in their predicate.
--
-- The five API-tactic rule groups in rules.d/ (20 finding types) take their
-- `match.api` lists from here, so this file decides what they watch.  One call
-- may sit under several tactics (e.g. "create serviceaccounts/token" is both
-- credential access and persistence); it then yields one finding per tactic.
--
-- The groups are based on MITRE ATT&CK for Containers and on the Microsoft
-- Threat Matrix for Kubernetes; the comments name the techniques each group
-- stands for.
--
-- Local additions: if a module `catalog_local` exists (lualib/catalog_local.lua)
-- it must return a table of the same shape, e.g.
--     return { discovery = { "list ingresses" }, impact = { "delete ingresses" } }
-- and its entries are appended to the tactics named (duplicates are ignored).
-- Local entries may use "*" as the verb (any verb).  Unknown tactics and
-- malformed entries are errors, and so is any error raised while loading
-- catalog_local; only its absence is silently accepted.
--
-- Besides the tactic lists the module offers (through its metatable, so that
-- pairs(catalog) still walks the tactics only):
--     catalog.has(tactic, verb, resource[, subresource]) -> boolean
--         tactic nil means "any tactic"; an unknown tactic name is an error.
--     catalog.tactics_of(verb, resource[, subresource]) -> list of tactic names
--         (resource may be a request path such as "/apis/apps/v1": path entries)
--     catalog.condition(verb, resource[, subresource]) -> function(ev) | nil
--         the body condition of an entry (CONDITIONS), nil for most
--     catalog.parse(entry[, allow_wildcard]) -> verb, resource, subresource | nil, message
--     catalog.TACTICS  list of the tactic names, sorted
--     catalog.VERBS    set of the Kubernetes request verbs

local catalog = {
  -- Credential access: reading stored credentials or minting new ones.
  --   ATT&CK T1552.007 Unsecured Credentials: Container API (secrets and config
  --   maps read through the API), T1528 Steal Application Access Token (token
  --   requests for a service account), T1649 Steal or Forge Authentication
  --   Certificates (a CSR that gets signed becomes a client certificate).
  --   MS matrix: "List K8S secrets", "Container service account",
  --   "Application credentials in configuration files".
  --   A Secret of type kubernetes.io/service-account-token makes the token
  --   controller mint a token that never expires (T1528); approving a CSR
  --   gets a client certificate signed (T1649).
  credential_access = {
    "get secrets", "list secrets", "watch secrets",
    "get configmaps", "list configmaps", "watch configmaps",
    "create serviceaccounts/token",
    "create certificatesigningrequests",
    "update certificatesigningrequests/approval", "patch certificatesigningrequests/approval",
    "create secrets",                -- service-account-token Secrets only (CONDITIONS)
  },

  -- Defense evasion: erasing traces and switching off in-cluster controls.
  --   ATT&CK T1070 Indicator Removal (Kubernetes events are the cluster's
  --   short-term activity record), T1562 Impair Defenses (admission webhooks
  --   enforce policy and network policies act as the in-cluster firewall).
  --   MS matrix: "Delete K8S events", "Clear container logs" (same goal).
  defense_evasion = {
    "delete events", "deletecollection events", "update events", "patch events",
    "delete validatingwebhookconfigurations", "update validatingwebhookconfigurations",
    "patch validatingwebhookconfigurations",
    "delete mutatingwebhookconfigurations", "update mutatingwebhookconfigurations",
    "patch mutatingwebhookconfigurations",
    "delete networkpolicies", "deletecollection networkpolicies",
    "deletecollection validatingwebhookconfigurations",
    "deletecollection mutatingwebhookconfigurations",
  },

  -- Discovery: mapping the cluster and one's own permissions.
  --   ATT&CK T1613 Container and Resource Discovery (pods, nodes, namespaces,
  --   workloads), T1046 Network Service Discovery (services, endpoints),
  --   T1069 Permission Groups Discovery (roles, bindings, access reviews).
  --   MS matrix: "Access the K8S API server", "Network mapping", "Access
  --   Kubelet API" (reads through the API server's node proxy: the pods,
  --   their specs and metrics of a node).  The API server's own discovery
  --   documents (/api, /apis/..., /openapi/...) are what kubectl fetches
  --   before any command and what `curl $APISERVER/api` probes (GuardDuty's
  --   tester expects Discovery:Kubernetes/TorIPCaller for the latter);
  --   /version fingerprints the server.  Anonymous requests to the health
  --   paths (paths.health, /version among them) are excluded by apirule.
  discovery = {
    "get pods", "list pods", "watch pods",
    "get nodes", "list nodes", "watch nodes",
    "get namespaces", "list namespaces", "watch namespaces",
    "list services", "list endpoints", "list serviceaccounts",
    "list deployments", "list daemonsets", "list statefulsets", "list replicasets",
    "list jobs", "list cronjobs",
    "list roles", "list clusterroles", "list rolebindings", "list clusterrolebindings",
    -- "what may I do?" (kubectl auth can-i), "what may someone else do?" and
    -- "who am I?" (kubectl auth whoami)
    "create selfsubjectaccessreviews", "create selfsubjectrulesreviews",
    "create subjectaccessreviews", "create selfsubjectreviews",
    -- reads through the kubelet API (/api/v1/nodes/N/proxy/pods, /metrics, ...)
    "get nodes/proxy",
    -- non-resource discovery documents and the server version
    "get /api", "get /api/v1", "get /apis", "get /apis/*",
    "get /openapi/v2", "get /openapi/v3", "get /openapi/v3/*",
    "get /version",
  },

  -- Impact: destroying, stopping or hijacking workloads and data.
  --   ATT&CK T1485 Data Destruction (volumes, claims, secrets, config maps,
  --   namespaces), T1489 Service Stop and T1499 Endpoint Denial of Service
  --   (deleting or breaking workloads and services), T1496 Resource Hijacking
  --   (rescaling or re-imaging workloads, e.g. to mine).  Deleting a node
  --   evicts everything on it (T1489).  A new service account is an identity
  --   the owner does not control (GuardDuty's tester expects `kubectl create
  --   serviceaccount` to be Impact:Kubernetes/MaliciousIPCaller.Custom).
  --   MS matrix: "Data destruction", "Denial of service", "Resource hijacking".
  impact = {
    "delete pods", "deletecollection pods",
    "delete deployments", "deletecollection deployments",
    "delete daemonsets", "deletecollection daemonsets",
    "delete statefulsets", "deletecollection statefulsets",
    "delete replicasets", "deletecollection replicasets",
    "delete jobs", "deletecollection jobs",
    "delete cronjobs", "deletecollection cronjobs",
    "delete services", "deletecollection services",
    "delete namespaces", "deletecollection namespaces",
    "delete persistentvolumeclaims", "deletecollection persistentvolumeclaims",
    "delete persistentvolumes", "deletecollection persistentvolumes",
    "delete configmaps", "deletecollection configmaps",
    "delete secrets", "deletecollection secrets",
    "update deployments", "patch deployments",
    "update daemonsets", "patch daemonsets",
    "update statefulsets", "patch statefulsets",
    "update replicasets", "patch replicasets",
    "update deployments/scale", "patch deployments/scale",
    "update statefulsets/scale", "patch statefulsets/scale",
    "update replicasets/scale", "patch replicasets/scale",
    "delete nodes", "deletecollection nodes",
    "create serviceaccounts",
  },

  -- Persistence: keeping a foothold that survives pod restarts and credential
  -- changes.
  --   ATT&CK T1053.007 Scheduled Task/Job: Container Orchestration Job
  --   (cron jobs), T1610 Deploy Container (a daemon set lands on every node),
  --   T1098 Account Manipulation incl. T1098.006 Additional Container Cluster
  --   Roles (role bindings), T1136 Create Account (service accounts),
  --   T1078 Valid Accounts (tokens minted for existing service accounts).
  --   MS matrix: "Kubernetes CronJob", "Backdoor container" (any new
  --   workload or bare pod), "Container service account", "Malicious
  --   admission controller" (a webhook sees, and a mutating one rewrites,
  --   every object sent to the API; removing a policy webhook lets through
  --   what it blocked), T1098.006 for new or widened Roles and ClusterRoles,
  --   T1649 for client certificates (CSRs and their approval) and T1528 for
  --   never-expiring service-account-token Secrets.
  persistence = {
    "create cronjobs", "update cronjobs", "patch cronjobs",
    "create daemonsets",
    "create deployments", "create statefulsets", "create replicasets", "create jobs",
    "create pods",
    "create rolebindings", "update rolebindings", "patch rolebindings",
    "create clusterrolebindings", "update clusterrolebindings", "patch clusterrolebindings",
    "create roles", "update roles", "patch roles",
    "create clusterroles", "update clusterroles", "patch clusterroles",
    "create serviceaccounts",
    "create serviceaccounts/token",
    "create secrets",                -- service-account-token Secrets only (CONDITIONS)
    "create certificatesigningrequests",
    "update certificatesigningrequests/approval", "patch certificatesigningrequests/approval",
    "create mutatingwebhookconfigurations", "update mutatingwebhookconfigurations",
    "patch mutatingwebhookconfigurations", "delete mutatingwebhookconfigurations",
    "create validatingwebhookconfigurations", "update validatingwebhookconfigurations",
    "patch validatingwebhookconfigurations", "delete validatingwebhookconfigurations",
  },
}

-- Entries that hold only for some requests.  A condition gets the event and
-- returns whether the call counts, and optionally a sentence for the finding.
local SA_TOKEN = "kubernetes.io/service-account-token"
local function sa_token_secret(ev)
  local body = ev.body
  if body == nil then
    -- Metadata level (the usual level for Secrets): the type cannot be seen;
    -- a listed or anonymous caller creating a Secret is reported, not missed.
    return true, "Secret created; its type is not in the audit event (Metadata level)"
  end
  local ok, ty = pcall(function() return body.type end)
  if ok and ty == SA_TOKEN then
    local sa
    pcall(function() sa = body.metadata.annotations["kubernetes.io/service-account.name"] end)
    return true, "Secret of type " .. SA_TOKEN
      .. (type(sa) == "string" and (" for service account " .. sa) or "")
  end
  return false
end

local CONDITIONS = {
  ["create secrets"] = sa_token_secret,
}

-- The verbs the API server writes into audit events for resource requests.
local VERBS = {
  get = true, list = true, watch = true, create = true, update = true,
  patch = true, delete = true, deletecollection = true,
}

-- The verbs of non-resource requests: the lowercase HTTP method.
local PATH_VERBS = {
  get = true, head = true, post = true, put = true, patch = true, delete = true, options = true,
}

local TACTICS = {}
for name in pairs(catalog) do TACTICS[#TACTICS + 1] = name end
table.sort(TACTICS)

-- Resource and subresource names: lowercase letters, digits and dashes,
-- starting with a letter (plural resource names are DNS labels).
local NAME = "^[a-z][a-z0-9-]*$"

-- A non-resource path entry: "/a/b" or "/a/*" (what the C loader accepts).
local function valid_path(p)
  local base = p:match("^(.*)/%*$") or p
  return base:match("^/[%w._~/-]*$") ~= nil and not base:find("//", 1, true)
    and (base == "/" or base:sub(-1) ~= "/")
end

-- parse("create pods/exec") -> "create", "pods", "exec"
-- parse("list pods")        -> "list", "pods", nil
-- parse("get /apis/*")      -> "get", "/apis/*", nil
-- On a malformed entry: nil, message.
local function parse(entry, allow_wildcard)
  if type(entry) ~= "string" then
    return nil, "entry is a " .. type(entry) .. ", not a string"
  end
  local verb, rest = entry:match("^(%S+) (%S+)$")
  if not verb then
    return nil, string.format("%q is not \"verb resource\", \"verb resource/subresource\" or \"verb /path\"", entry)
  end
  if rest:sub(1, 1) == "/" then
    if not (PATH_VERBS[verb] or (allow_wildcard and verb == "*")) then
      return nil, string.format("%q: unknown verb %q for a path", entry, verb)
    end
    if not valid_path(rest) then
      return nil, string.format("%q: %q is not a path (\"/a/b\" or \"/a/*\")", entry, rest)
    end
    return verb, rest, nil
  end
  if not (VERBS[verb] or (allow_wildcard and verb == "*")) then
    return nil, string.format("%q: unknown verb %q", entry, verb)
  end
  local resource, sub = rest:match("^([^/]+)/([^/]+)$")
  if not resource then resource = rest end
  if not resource:match(NAME) then
    return nil, string.format("%q: resource %q is not a lowercase plural name", entry, resource)
  end
  if sub and not sub:match(NAME) then
    return nil, string.format("%q: subresource %q is not a lowercase name", entry, sub)
  end
  return verb, resource, sub
end

for _, tactic in ipairs(TACTICS) do
  for _, entry in ipairs(catalog[tactic]) do
    assert(parse(entry))
  end
end

-- Merge lualib/catalog_local.lua when there is one (see localmod.lua).
local extra = require("localmod").load("catalog_local")

if extra ~= nil then
  if type(extra) ~= "table" then
    error("catalog_local: must return a table {tactic = {\"verb resource\", ...}}, got a "
      .. type(extra), 0)
  end
  for tactic, entries in pairs(extra) do
    local list = catalog[tactic]
    if list == nil then
      error(string.format("catalog_local: unknown tactic %s (known: %s)",
        tostring(tactic), table.concat(TACTICS, ", ")), 0)
    end
    if type(entries) ~= "table" then
      error(string.format("catalog_local: %s must be a list of strings", tactic), 0)
    end
    local seen = {}
    for _, e in ipairs(list) do seen[e] = true end
    for i, entry in ipairs(entries) do
      local verb, msg = parse(entry, true)
      if not verb then
        error(string.format("catalog_local: %s[%d]: %s", tactic, i, msg), 0)
      end
      if not seen[entry] then
        seen[entry] = true
        list[#list + 1] = entry
      end
    end
  end
end

-- Lookup index: index[tactic]["verb resource[/sub]"] = true.
local index = {}
for _, tactic in ipairs(TACTICS) do
  local set = {}
  for _, entry in ipairs(catalog[tactic]) do set[entry] = true end
  index[tactic] = set
end

local function key_of(resource, subresource)
  if subresource == nil or subresource == "" then return resource end
  return resource .. "/" .. subresource
end

local function in_set(set, verb, key)
  return set[verb .. " " .. key] == true or set["* " .. key] == true
end

-- A path key also matches the "/prefix/*" entries above it.
local function in_tactic(tactic, verb, key)
  local set = index[tactic]
  if in_set(set, verb, key) then return true end
  if key:sub(1, 1) ~= "/" then return false end
  local path = key:match("^[^?#]*")
  if path ~= key and in_set(set, verb, path) then return true end
  for i = 2, #path do
    if path:sub(i, i) == "/" and in_set(set, verb, path:sub(1, i - 1) .. "/*") then return true end
  end
  return false
end

local methods = {
  TACTICS = TACTICS,
  VERBS = VERBS,
  PATH_VERBS = PATH_VERBS,
  parse = parse,
}

-- The condition of an entry ("verb resource[/sub]"), or nil when it has none.
function methods.condition(verb, resource, subresource)
  if type(verb) ~= "string" or type(resource) ~= "string" then return nil end
  return CONDITIONS[verb .. " " .. key_of(resource, subresource)]
end

function methods.has(tactic, verb, resource, subresource)
  if type(verb) ~= "string" or type(resource) ~= "string" then return false end
  local key = key_of(resource, subresource)
  if tactic == nil then
    for _, t in ipairs(TACTICS) do
      if in_tactic(t, verb, key) then return true end
    end
    return false
  end
  if index[tactic] == nil then
    error(string.format("catalog.has: unknown tactic %s (known: %s)",
      tostring(tactic), table.concat(TACTICS, ", ")), 2)
  end
  return in_tactic(tactic, verb, key)
end

function methods.tactics_of(verb, resource, subresource)
  local found = {}
  if type(verb) ~= "string" or type(resource) ~= "string" then return found end
  local key = key_of(resource, subresource)
  for _, t in ipairs(TACTICS) do
    if in_tactic(t, verb, key) then found[#found + 1] = t end
  end
  return found
end

return setmetatable(catalog, { __index = methods })
