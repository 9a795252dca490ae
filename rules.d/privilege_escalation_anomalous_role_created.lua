-- PrivilegeEscalation:Kubernetes/AnomalousBehavior.RoleCreated
--
-- A highly permissive Role or ClusterRole was created or changed in a way
-- new for that user.  Permissive: a rule with a wildcard verb or resource,
-- the verbs escalate, bind or impersonate, reading secrets, or creating
-- pods/exec, pods/attach or serviceaccounts/token.
-- Baseline "roles": identity user.username; dimensions namespace
-- ("(cluster)" for ClusterRoles), source network, user agent.  Needs the
-- request body.

local anomaly = require("anomaly")
local view = require("view")

local RISKY_VERBS = { ["*"] = true, escalate = true, bind = true, impersonate = true }
local READ = { get = true, list = true, watch = true }
local EXEC = { ["pods/exec"] = true, ["pods/attach"] = true, ["serviceaccounts/token"] = true }

-- The strings of a JSON array, as a set.
local function strings(x)
  local out = {}
  if view.node(x) == nil then return out end
  for i = 1, #x do
    local v = x[i]
    if type(v) == "string" then out[v] = true end
  end
  return out
end

-- The first permissive thing a role's rules grant, or nil.
local function permissive(body)
  for _, item in ipairs(view.list(view.get(body, "rules"))) do
    local verbs, resources = strings(view.get(item.value, "verbs")), strings(view.get(item.value, "resources"))
    for v in pairs(verbs) do
      if RISKY_VERBS[v] then return "verb " .. v end
    end
    if resources["*"] then return "all resources" end
    for r in pairs(resources) do
      if r == "secrets" then
        for v in pairs(verbs) do if READ[v] then return v .. " secrets" end end
      end
      if EXEC[r] and verbs.create then return "create " .. r end
    end
  end
  return nil
end

return {
  type = "PrivilegeEscalation:Kubernetes/AnomalousBehavior.RoleCreated",
  severity = "Low",
  title = "Permissive role created in a way new for this user",
  description = "A user created or changed a Role or ClusterRole granting wildcards, escalate, "
    .. "bind or impersonate, secret reads or exec, and the namespace, network or client was new "
    .. "for that user's roles after kguard's learning period. Writing one's own powerful role "
    .. "avoids the well-known admin roles that reviews look for.",
  remediation = "Read the role (`kubectl get role|clusterrole <name> -o yaml`) and ask the user "
    .. "(kubernetesUserDetails) why it grants this. If it is not expected, delete it and any "
    .. "binding to it, and revoke the credential.",
  match = {
    api = {
      "create roles", "update roles", "patch roles",
      "create clusterroles", "update clusterroles", "patch clusterroles",
    },
    success = true,
    body = true,
  },
  predicate = function(ev)
    if not anomaly.profiled(ev) then return nil end -- cheap: before any body work
    local what = permissive(ev.body)
    if what == nil then return nil end
    local r = anomaly.check(ev, "roles", anomaly.common(ev))
    if r == nil then return nil end
    r.detail = r.detail .. "; the role grants " .. what
    return anomaly.finding(r)
  end,
}
