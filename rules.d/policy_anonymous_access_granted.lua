-- Policy:Kubernetes/AnonymousAccessGranted
--
-- A RoleBinding or ClusterRoleBinding was created or changed so that it binds
-- a role to unauthenticated callers: subject User system:anonymous or Group
-- system:unauthenticated (lualib/rbac.lua).  Whatever the role allows is then
-- open to anyone who can reach the API server, without credentials.  Fires
-- whatever the role is: even read access leaks the cluster's layout.
-- Not judged: dry runs (?dryRun=All), and the API server's own creation of
-- its built-in system:* bindings at start-up (user system:apiserver; one of
-- them, system:public-info-viewer, is meant for unauthenticated callers).

local rbac = require("rbac")
local paths = require("paths")

return {
  type = "Policy:Kubernetes/AnonymousAccessGranted",
  severity = "High",
  title = "Role granted to unauthenticated users",
  description = "A role binding was created or changed so that it grants a role to system:anonymous "
    .. "or to the group system:unauthenticated. Every request that reaches the API server without "
    .. "credentials runs as those, so the role's permissions are now available to anyone with "
    .. "network access to the API endpoint. Attackers scan for clusters like this, and an intruder "
    .. "may add such a binding to keep a way back in that needs no stolen credentials.",
  remediation = "kubernetesRoleBindingDetails and kguard.detail name the binding, role and subject. "
    .. "Inspect it with `kubectl get clusterrolebinding <name> -o yaml` (or `kubectl get rolebinding "
    .. "<name> -n <namespace> -o yaml`) and list every grant to anonymous callers with `kubectl get "
    .. "clusterrolebindings,rolebindings -A -o json | jq '.items[] | select(.subjects[]? | "
    .. ".name == \"system:anonymous\" or .name == \"system:unauthenticated\") | .metadata'`. Unless "
    .. "the access is deliberate (normally only the built-in system:public-info-viewer binding for "
    .. "health and version endpoints), remove the subject or delete the binding: `kubectl delete "
    .. "clusterrolebinding <name>`. Check `kubectl auth can-i --list --as=system:anonymous`. Where "
    .. "possible run the API server with --anonymous-auth=false. If the change was not planned, revoke "
    .. "the credentials of the user under kubernetesUserDetails and look for anonymous requests that "
    .. "used the access (SuccessfulAnonymousAccess findings).",
  details = "rolebinding",
  match = {
    api = rbac.writes(),
    success = true,
    body = true,
  },
  predicate = function(ev)
    local body = ev.body
    if paths.is_dry_run(ev.request_uri) then return nil end -- changes nothing
    if rbac.is_bootstrap(ev, body) then return nil end      -- the API server's own system:* bindings
    local who = rbac.anonymous_subjects(body)
    if #who == 0 then return nil end
    local _, role = rbac.role_ref(body)
    local to = role and (" to " .. rbac.describe_role(body, role)) or ""
    return {
      detail = string.format("%s grants %s%s",
        rbac.describe_binding(body, ev.resource, ev.namespace, ev.name), table.concat(who, ", "), to),
    }
  end,
}
