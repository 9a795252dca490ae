-- anomaly.lua: transparent new-value baselines for the AnomalousBehavior
-- rules, the GuardDuty `service.detection.anomaly` shape of what was
-- unusual, and the signals correlation rules read.
--
-- A baseline is kguard.baseline(name) (C, per cluster, saved with --state).
-- Its identity is the caller (user.username); each dimension of a call
-- (namespace, source network, user agent, image repository, ...) is a key
-- scope.key(ev, identity, dimension) whose values are the ones that
-- identity has used.  Dry runs (?dryRun=All) are not profiled.  While the baseline learns (anomaly.LEARN of event time from the
-- first call it sees in the cluster) every value is recorded and nothing
-- fires; afterwards a call fires when one of its strong dimensions
-- (namespace, workload, image, permission, role, host path) has a value the
-- identity never used, or when both weak ones (source network and user
-- agent, marked weak = true) are new at once: people roam between networks,
-- so a new network alone is not reported.  New values are recorded, so a
-- novelty fires once.
--
--     anomaly.LEARN                   "7d" (anomaly_local.lua may change it)
--     anomaly.profiled(ev)            -> false for the cluster's own machinery
--                                        (nodes, control plane, kube-system
--                                        controllers), which is not profiled
--     anomaly.network(ip)             -> "203.0.113.0/24", "2001:db8:1::/48"
--     anomaly.agent(ua)               -> "kubectl" (first product token)
--     anomaly.source(ev)              -> network of the first caller IP
--     anomaly.check(ev, name, dims)   -> nil, or
--         {actor = ..., unusual = {dim, ...}, age = seconds,
--          detection = {anomaly = {...}}, detail = "..."}
--         dims: a list of {name = "namespace", value = "prod"|nil,
--         weak = true|nil}
--     anomaly.signal_count(entity)    -> distinct finding types of entity in
--                                        the last 24 hours
--     anomaly.signals(entity, span)   -> the finding types recorded for
--         entity within span seconds: list of {type, tactic, first, last}
--
-- The profile and unusual objects follow GuardDuty's Anomaly type:
-- profiles[<baseline>][<dimension>] = {{profileType = "FREQUENCY",
-- observations = {text = {known values}}}} and
-- unusual.behavior[<baseline>][<dimension>] = {profileType = "FREQUENCY",
-- profileSubtype = "UNSEEN", observations = {text = {the new value}}};
-- kguard adds baseline = {name, identity, learningPeriod, ageSeconds,
-- learningSince}.

local view = require("view")
local paths = require("paths")
local scope = require("scope")

local anomaly = {}

anomaly.LEARN = "7d"
anomaly.MAX_KEYS = 100000
anomaly.MAX_VALUES = 64
anomaly.MAX_LISTED = 10

-- Identities that are the cluster's machinery: their calls are the
-- consequence of others' (a ReplicaSet controller creating the pods of a
-- Deployment), so they are not profiled.
anomaly.SYSTEM_USERS = {
  ["system:kube-controller-manager"] = true,
  ["system:kube-scheduler"] = true,
  ["system:apiserver"] = true,
  ["system:kube-proxy"] = true,
}
anomaly.SYSTEM_PATTERNS = {
  "^system:node:",
  "^system:serviceaccount:kube%-system:[%w%-]+%-controller$",
  "^eks:",
}

local extra = require("localmod").load("anomaly_local")
if type(extra) == "table" then
  if extra.learn ~= nil then anomaly.LEARN = extra.learn end
  for _, u in ipairs(extra.system_users or {}) do anomaly.SYSTEM_USERS[u] = true end
  for _, p in ipairs(extra.system_patterns or {}) do
    anomaly.SYSTEM_PATTERNS[#anomaly.SYSTEM_PATTERNS + 1] = p
  end
end

local DAY = 86400

function anomaly.profiled(ev)
  local u = ev.username
  if u == nil or u == "" or ev.anonymous then return false end
  if paths.is_dry_run(ev.request_uri) then return false end -- persists nothing
  if anomaly.SYSTEM_USERS[u] then return false end
  for _, p in ipairs(anomaly.SYSTEM_PATTERNS) do
    if u:find(p) then return false end
  end
  return true
end

function anomaly.network(ip)
  if type(ip) ~= "string" then return nil end
  local a, b, c = ip:match("^(%d+)%.(%d+)%.(%d+)%.%d+$")
  if a then return a .. "." .. b .. "." .. c .. ".0/24" end
  if ip:find(":", 1, true) then
    local groups = {}
    for g in (ip:match("^([^:]*:[^:]*:[^:]*)") or ip):gmatch("[^:]+") do
      groups[#groups + 1] = g
    end
    if #groups == 3 then return table.concat(groups, ":") .. "::/48" end
    return ip
  end
  return ip
end

function anomaly.agent(ua)
  if type(ua) ~= "string" or ua == "" then return "(none)" end
  local token = ua:match("^([^/%s]+)") or ua
  return view.text(token, 100)
end

function anomaly.source(ev)
  local ips = ev.source_ips
  return anomaly.network(ips and ips[1])
end

local baselines = {}

local function baseline(name)
  local b = baselines[name]
  if not b then
    b = kguard.baseline(name, {
      learn = anomaly.LEARN, max_keys = anomaly.MAX_KEYS, max_values = anomaly.MAX_VALUES,
    })
    baselines[name] = b
  end
  return b
end

local function known(b, key, except)
  local out = {}
  for v in pairs(b:values(key)) do
    if v ~= except then out[#out + 1] = v end
  end
  table.sort(out)
  while #out > anomaly.MAX_LISTED do out[#out] = nil end
  return out
end

local function learn_text()
  return type(anomaly.LEARN) == "number" and (anomaly.LEARN .. "s") or tostring(anomaly.LEARN)
end

-- Epoch ms as RFC 3339 UTC (days to civil date: the proleptic Gregorian
-- calendar in 400-year eras).
function anomaly.iso(ms)
  local s = ms // 1000
  local z = s // DAY + 719468
  local era = z // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  local t = s % DAY
  return string.format("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, t // 3600, t % 3600 // 60, t % 60)
end
local iso = anomaly.iso

local function detection(ev, b, name, actor, dims, unusual)
  local profiles, behavior = {}, {}
  local age = b:age()
  for _, d in ipairs(dims) do
    if d.value ~= nil then
      local key = scope.key(ev, actor, d.name)
      local is_new = unusual[d.name] ~= nil
      profiles[d.name] = {
        { profileType = "FREQUENCY",
          observations = { text = known(b, key, is_new and d.value or nil) } },
      }
      if is_new then
        behavior[d.name] = {
          profileType = "FREQUENCY", profileSubtype = "UNSEEN",
          observations = { text = { view.text(d.value, 200) } },
        }
      end
    end
  end
  return {
    anomaly = {
      profiles = { [name] = profiles },
      unusual = { behavior = { [name] = behavior } },
      baseline = {
        name = name, identity = actor, learningPeriod = learn_text(),
        ageSeconds = age, learningSince = iso(kguard.now() - age * 1000),
      },
    },
  }
end

function anomaly.check(ev, name, dims)
  if not anomaly.profiled(ev) then return nil end
  local actor = ev.username
  local b = baseline(name)
  local unusual, list, learning, strong, weak = {}, {}, false, 0, 0
  for _, d in ipairs(dims) do
    if d.value ~= nil then
      local is_new, l = b:observe(scope.key(ev, actor, d.name), d.value)
      learning = l
      if is_new then
        unusual[d.name] = d.value
        list[#list + 1] = d
        if d.weak then weak = weak + 1 else strong = strong + 1 end
      end
    end
  end
  if learning or (strong == 0 and weak < 2) then return nil end
  local parts = {}
  for _, d in ipairs(list) do
    parts[#parts + 1] = string.format("%s %s", d.name, view.text(d.value, 200))
  end
  local age = b:age()
  return {
    actor = actor,
    unusual = list,
    age = age,
    detection = detection(ev, b, name, actor, dims, unusual),
    detail = string.format("%s: first time for this user after %d days of baseline: %s",
      name, age // DAY, table.concat(parts, ", ")),
  }
end

-- Dimensions most rules share: namespace, source network, user agent.
function anomaly.common(ev)
  return {
    { name = "namespace", value = ev.namespace or "(cluster)" },
    { name = "sourceNetwork", value = anomaly.source(ev), weak = true },
    { name = "userAgent", value = anomaly.agent(ev.user_agent), weak = true },
  }
end

-- An image reference without tag or digest: "ghcr.io/acme/api".
function anomaly.repository(image)
  if type(image) ~= "string" then return nil end
  local ref = image:gsub("@.*$", "")
  local last = ref:match("([^/]*)$")
  if last:find(":", 1, true) then ref = ref:gsub(":[^:/]*$", "") end
  return ref
end

-- The dimensions of a workload write: namespace, each container's image
-- repository, source network, user agent.
function anomaly.workload_dims(ev, containers)
  local dims = anomaly.common(ev)
  local seen = {}
  for _, c in ipairs(containers) do
    local repo = anomaly.repository(c.image)
    if repo and not seen[repo] then
      seen[repo] = true
      table.insert(dims, 2, { name = "imageRepository", value = repo })
    end
  end
  return dims
end

-- The predicate's return for a check result r (nil stays nil).
function anomaly.finding(r, severity)
  if r == nil then return nil end
  return { detection = r.detection, detail = r.detail, severity = severity }
end

local signals_window

local function signals()
  if not signals_window then
    signals_window = kguard.window("kguard.signals", { span = "24h", max_values = 64 })
  end
  return signals_window
end

-- How many distinct finding types entity has within 24 hours (cheap: no table).
function anomaly.signal_count(entity)
  return signals():distinct(entity)
end

function anomaly.signals(entity, span)
  signals()
  local since = kguard.now() - span * 1000
  local out = {}
  for ftype, last in pairs(signals_window:values(entity)) do
    if last >= since then
      out[#out + 1] = { type = ftype, tactic = ftype:match("^([^:]+)"), last = last }
    end
  end
  table.sort(out, function(a, b) return a.last < b.last end)
  return out
end

return anomaly
