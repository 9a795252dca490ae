-- Discovery:Kubernetes/AnomalousBehavior.PermissionChecked
--
-- A user asked the API server what it may do (kubectl auth can-i: a
-- SelfSubjectAccessReview, or SelfSubjectRulesReview for --list) for a
-- powerful permission, in a way new for that user.
-- Baseline "permission_checks": identity user.username; dimensions the
-- permission checked ("create pods/exec", "list *"; from the request body,
-- absent at Metadata level), namespace, source network, user agent.
-- Only checks of powerful permissions fire (anomaly below): secrets,
-- exec/attach, RBAC writes, escalate/bind/impersonate, tokens, wildcards,
-- and every rules review (it lists everything).

local anomaly = require("anomaly")
local view = require("view")

local POWERFUL_VERBS = { ["*"] = true, escalate = true, bind = true, impersonate = true }
local POWERFUL = {
  ["*"] = true, secrets = true, ["pods/exec"] = true, ["pods/attach"] = true,
  ["pods/portforward"] = true, ["nodes/proxy"] = true, ["serviceaccounts/token"] = true,
  clusterrolebindings = true, rolebindings = true, clusterroles = true, roles = true,
  certificatesigningrequests = true, ["certificatesigningrequests/approval"] = true,
  daemonsets = true, pods = true,
}
local READ_ONLY = { get = true, list = true, watch = true }

local function permission(ev)
  local attrs = view.get(ev.body, "spec", "resourceAttributes")
  if attrs == nil then return nil, false end
  local verb = view.str(view.get(attrs, "verb")) or "*"
  local res = view.str(view.get(attrs, "resource")) or "*"
  local sub = view.str(view.get(attrs, "subresource"))
  if sub and sub ~= "" then res = res .. "/" .. sub end
  local powerful = POWERFUL_VERBS[verb] or (POWERFUL[res] and not (READ_ONLY[verb] and res ~= "secrets" and res ~= "*"))
  return verb .. " " .. res, powerful and true or false
end

return {
  type = "Discovery:Kubernetes/AnomalousBehavior.PermissionChecked",
  severity = "Low",
  title = "Powerful permission checked in a way new for this user",
  description = "A user asked the API server whether it holds a powerful permission (reading "
    .. "secrets, exec into pods, changing RBAC, impersonation) or listed all its permissions, "
    .. "and the check was new for that user: a permission, namespace, network or client it had "
    .. "not used for such checks during kguard's learning period. Someone holding a stolen "
    .. "credential often starts by asking what it can do.",
  remediation = "Ask the user (kubernetesUserDetails) whether they ran `kubectl auth can-i`. If "
    .. "not, treat the credential as compromised: revoke it and review what the user did next "
    .. "(service.detection.anomaly says what was new).",
  match = {
    api = { "create selfsubjectaccessreviews", "create selfsubjectrulesreviews" },
    success = true,
  },
  predicate = function(ev)
    if not anomaly.profiled(ev) then return nil end -- cheap: before any body work
    local dims = anomaly.common(ev)
    local perm, powerful
    if ev.resource == "selfsubjectrulesreviews" then
      perm, powerful = "list *", true
    else
      perm, powerful = permission(ev)
    end
    table.insert(dims, 1, { name = "permission", value = perm })
    local r = anomaly.check(ev, "permission_checks", dims)
    if r == nil or (perm ~= nil and not powerful) then return nil end
    return anomaly.finding(r)
  end,
}
