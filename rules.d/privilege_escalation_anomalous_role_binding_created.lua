-- PrivilegeEscalation:Kubernetes/AnomalousBehavior.RoleBindingCreated
--
-- A RoleBinding or ClusterRoleBinding to a permissive role or in a
-- sensitive place was created or changed in a way new for that user.
-- Permissive: roleRef admin, cluster-admin or edit, any ClusterRoleBinding
-- (a cluster-wide grant), or any binding in kube-system.  Severity Medium,
-- High when the role is admin or cluster-admin (as GuardDuty).
-- Baseline "role_bindings": identity user.username; dimensions namespace,
-- the role bound (roleRef name), source network, user agent.  Needs the
-- request body (Request level or above).

local anomaly = require("anomaly")
local rbac = require("rbac")

local PERMISSIVE = { ["cluster-admin"] = true, admin = true, edit = true }
local SENSITIVE_NS = { ["kube-system"] = true }

return {
  type = "PrivilegeEscalation:Kubernetes/AnomalousBehavior.RoleBindingCreated",
  severity = "Medium",
  title = "Permissive role bound in a way new for this user",
  description = "A user created or changed a RoleBinding or ClusterRoleBinding that grants a "
    .. "permissive role (admin, cluster-admin, edit, or any role cluster-wide) or sits in "
    .. "kube-system, and the role, namespace, network or client was new for that user's "
    .. "bindings after kguard's learning period. Binding a powerful role to an account one "
    .. "controls is the shortest path to more privilege.",
  remediation = "Read the binding (kubernetesRoleBindingDetails) and ask the user "
    .. "(kubernetesUserDetails) why it was made. If it is not expected, delete the binding and "
    .. "revoke the credential, then review what the newly bound subjects did.",
  details = "rolebinding",
  match = {
    api = rbac.writes(),
    success = true,
    body = true,
  },
  predicate = function(ev)
    if not anomaly.profiled(ev) then return nil end -- cheap: before any body work
    local _, role = rbac.role_ref(ev.body)
    if not (PERMISSIVE[role] or ev.resource == "clusterrolebindings" or SENSITIVE_NS[ev.namespace]) then
      return nil
    end
    local dims = anomaly.common(ev)
    table.insert(dims, 2, { name = "role", value = role })
    local severity = rbac.admin_role(ev.body, ev.resource, ev.name) and "High" or nil
    return anomaly.finding(anomaly.check(ev, "role_bindings", dims), severity)
  end,
}
