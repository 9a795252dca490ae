-- Policy:Kubernetes/AdminAccessToDefaultServiceAccount
--
-- A RoleBinding or ClusterRoleBinding was created or changed so that a
-- namespace's default service account holds the cluster-admin or admin role.
-- Every pod that names no service account runs as "default", so all of them
-- would get those rights.
--
-- The subject may be written as kind ServiceAccount, name default (any
-- namespace), as kind User, name system:serviceaccount:<namespace>:default,
-- or as one of the groups that hold it, system:serviceaccounts and
-- system:serviceaccounts:<namespace> (lualib/rbac.lua).
--
-- Admin roles: ClusterRole cluster-admin and admin, and any Role or
-- ClusterRole the log showed with admin-equivalent rules (every verb on every
-- resource of the core or every API group).  The rule keeps an RBAC memory
-- (rbac.remember: the rules of roles and the roleRef of bindings, deletions
-- included), so a patch logged at Request level, which carries only subjects
-- (roleRef cannot change), is judged by the roleRef recorded for that
-- binding.  Dry runs are neither judged nor recorded.

local rbac = require("rbac")
local paths = require("paths")

return {
  type = "Policy:Kubernetes/AdminAccessToDefaultServiceAccount",
  severity = "High",
  title = "Admin role bound to a default service account",
  description = "A role binding now gives a namespace's default service account the cluster-admin "
    .. "or admin role, or a role with the same unlimited rules. Kubernetes creates that account in every namespace and hands it to any pod "
    .. "that does not name another one, so every such pod, including ones created later by people "
    .. "who only meant to run an application, carries an administrator token. Anyone who gets code "
    .. "running in one of those pods controls the namespace or the whole cluster. This is either a "
    .. "misconfiguration or a deliberate backdoor.",
  remediation = "kubernetesRoleBindingDetails and kguard.detail name the binding, role and subject. "
    .. "Inspect it with `kubectl get clusterrolebinding <name> -o yaml` (or `kubectl get rolebinding "
    .. "<name> -n <namespace> -o yaml`). Give each workload that really needs rights its own service "
    .. "account (`kubectl create serviceaccount <app> -n <namespace>`), bind only the permissions it "
    .. "needs, and set spec.serviceAccountName in its pod template. Then remove the grant from the "
    .. "default account: `kubectl delete clusterrolebinding <name>` (or `kubectl delete rolebinding "
    .. "<name> -n <namespace>`), or edit the binding's subjects if it serves others too. Check what "
    .. "the account can still do with `kubectl auth can-i --list "
    .. "--as=system:serviceaccount:<namespace>:default`, and consider "
    .. "automountServiceAccountToken: false on default accounts. If the change was not planned, "
    .. "revoke the credentials of the user under kubernetesUserDetails and review their other changes.",
  details = "rolebinding",
  match = {
    api = rbac.memory_api(), -- binding writes are judged; every call feeds the RBAC memory
    success = true,
  },
  predicate = function(ev)
    if paths.is_dry_run(ev.request_uri) then return nil end -- changes nothing
    local res = ev.resource
    if ev.verb == "delete" or res == "roles" or res == "clusterroles" then
      rbac.remember(ev)
      return nil
    end
    local role = rbac.binding_write(ev) -- judged on what was known before, then recorded
    if role == nil then return nil end
    local body = ev.body
    local who = rbac.default_sa_subjects(body, ev.namespace)
    if #who == 0 then return nil end
    return {
      detail = string.format("%s binds %s to %s",
        rbac.describe_binding(body, ev.resource, ev.namespace, ev.name), role, table.concat(who, ", ")),
    }
  end,
}
