-- CredentialAccess:Kubernetes/SecretsListedClusterWide  (a custom detection; see ../README.md)
--
-- Someone listed or watched Secrets across all namespaces (`kubectl get secrets -A`,
-- GET /api/v1/secrets) and the API server answered.  A list returns every Secret with
-- its data, so one request hands over every token, password and key in the cluster.
-- People need that almost never; a few controllers do (the kube-controller-manager,
-- secret operators), and they are exempted below.
--
-- `match` is checked in C: only successful, authenticated list/watch calls on secrets
-- ever reach the predicate (anonymous callers are the SuccessfulAnonymousAccess types'
-- business).  The predicate adds what `match` cannot say: the request has no namespace,
-- and the caller is not part of the control plane or an operator we trust.

local view = require("view")

-- Identities that list Secrets cluster-wide as part of their job.  Exact user names.
local ALLOWED = {
  ["system:kube-controller-manager"] = true,
  ["system:apiserver"] = true,
  ["system:serviceaccount:external-secrets:external-secrets"] = true,
  ["system:serviceaccount:cert-manager:cert-manager"] = true,
}

-- Control-plane identities: system:node:*, and service accounts of kube-system (the
-- controllers when they run with --use-service-account-credentials).
local function control_plane(user)
  return user:find("^system:node:") ~= nil
      or user:find("^system:serviceaccount:kube%-system:") ~= nil
end

return {
  type = "CredentialAccess:Kubernetes/SecretsListedClusterWide",
  severity = "High",
  title = "Secrets of all namespaces were listed",
  description = "An identity listed or watched the Secrets of every namespace and the API server "
    .. "answered. A list returns each Secret with its data, so the caller now holds every "
    .. "service-account token, registry credential and application key stored in the cluster.",
  remediation = "Ask the owner of the identity under kubernetesUserDetails why it needed every "
    .. "Secret. If nobody expected it, revoke that identity's credentials and rotate the Secrets "
    .. "(start with service-account tokens and cloud credentials), then find the binding that "
    .. "allows it: `kubectl auth can-i list secrets -A --as=<user>` and "
    .. "`kubectl get clusterrolebindings -o wide`. If it is a trusted operator, add its user name "
    .. "to ALLOWED in this rule file.",
  match = {
    api = { "list secrets", "watch secrets" },
    success = true,
    anonymous = false,
  },
  predicate = function(ev)
    if ev.namespace ~= nil then return false end     -- one namespace: not this type
    local user = ev.username or ""
    if ALLOWED[user] or control_plane(user) then return false end
    local how = ev.verb == "watch" and "watched" or "listed"
    local agent = view.text(ev.user_agent or "unknown client", 80)
    return {
      detail = string.format("%s %s the Secrets of all namespaces (%s) with %s",
        view.text(user, 200), how, view.text(ev.request_uri or "?", 200), agent),
      -- a watch keeps streaming every new and changed Secret: say so in the title
      title = ev.verb == "watch" and "Secrets of all namespaces are being watched" or nil,
    }
  end,
}
