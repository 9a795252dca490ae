-- Persistence:Kubernetes/AnomalousBehavior.WorkloadDeployed!ContainerWithSensitiveMount
--
-- A workload mounting a sensitive host path writable was created or changed
-- in a way new for that user.
-- Baseline "sensitive_mount_workloads": identity user.username; dimensions
-- namespace, image repository of each mounting container, the host path,
-- source network, user agent; learned only from such workloads.  The
-- seed's Persistence:Kubernetes/ContainerWithSensitiveMount stays shipped.

local anomaly = require("anomaly")
local workload = require("workload")

return {
  type = "Persistence:Kubernetes/AnomalousBehavior.WorkloadDeployed!ContainerWithSensitiveMount",
  severity = "High",
  title = "Sensitive host mount deployed in a way new for this user",
  description = "A user created or changed a workload whose container mounts a sensitive path "
    .. "of the node (such as /etc, the kubelet's state or the runtime socket) writable, and "
    .. "the namespace, image repository, host path, network or client was new for that user's "
    .. "such workloads after kguard's learning period. Writing the node's files is a common "
    .. "way to escape a container and stay on the host.",
  remediation = "Confirm the workload (kubernetesWorkloadDetails) with its owner. If it is not "
    .. "expected, delete it, check the node for changes under the mounted path, and revoke the "
    .. "credential of the user under kubernetesUserDetails.",
  details = "workload",
  match = {
    api = workload.writes(),
    success = true,
    body = true,
    host_path = true,
  },
  predicate = function(ev)
    if not anomaly.profiled(ev) then return nil end -- cheap: before any body work
    local mounts = workload.sensitive_mounts(ev.pod_spec)
    if #mounts == 0 then return nil end
    local dims = anomaly.workload_dims(ev, mounts)
    local seen = {}
    for _, m in ipairs(mounts) do
      if not seen[m.host_path] then
        seen[m.host_path] = true
        table.insert(dims, 2, { name = "hostPath", value = m.host_path })
      end
    end
    return anomaly.finding(anomaly.check(ev, "sensitive_mount_workloads", dims))
  end,
}
