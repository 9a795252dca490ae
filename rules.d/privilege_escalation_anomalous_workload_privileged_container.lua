-- PrivilegeEscalation:Kubernetes/AnomalousBehavior.WorkloadDeployed!PrivilegedContainer
--
-- A workload with a privileged container was created or changed in a way
-- new for that user.
-- Baseline "privileged_workloads": identity user.username; dimensions
-- namespace, image repository of each container, source network, user
-- agent; learned only from privileged workloads.  The seed's
-- PrivilegeEscalation:Kubernetes/PrivilegedContainer (a first-time image
-- per cluster, no learning) stays shipped beside it.

local anomaly = require("anomaly")
local workload = require("workload")

return {
  type = "PrivilegeEscalation:Kubernetes/AnomalousBehavior.WorkloadDeployed!PrivilegedContainer",
  severity = "High",
  title = "Privileged container deployed in a way new for this user",
  description = "A user created or changed a workload with a privileged container, and the "
    .. "namespace, image repository, network or client was new for that user's privileged "
    .. "workloads after kguard's learning period. A privileged container is root on its node; "
    .. "launching one is a direct route from the API to the host.",
  remediation = "Confirm the workload (kubernetesWorkloadDetails) with its owner. If it is not "
    .. "expected, delete it, inspect the node it ran on, and revoke the credential of the user "
    .. "under kubernetesUserDetails. Expected agents stop firing once learned; a suppression rule "
    .. "on resource.kubernetesDetails.kubernetesWorkloadDetails.containers.image handles the rest.",
  details = "workload",
  match = {
    api = workload.writes(),
    success = true,
    body = true,
    privileged = true,
  },
  predicate = function(ev)
    if not anomaly.profiled(ev) then return nil end -- cheap: before any body work
    local priv = workload.privileged(ev.pod_spec)
    if #priv == 0 then return nil end
    return anomaly.finding(anomaly.check(ev, "privileged_workloads",
      anomaly.workload_dims(ev, priv)))
  end,
}
