-- Persistence:Kubernetes/ContainerWithSensitiveMount
--
-- A workload was created or changed so that one of its containers mounts a
-- sensitive directory or socket of the node (a hostPath volume, lualib/paths.lua
-- paths.sensitive) without readOnly: true, or reaches a container runtime
-- socket however it is mounted (paths.is_runtime_socket: readOnly does not
-- stop connect()).  All container lists count: containers, initContainers
-- and ephemeralContainers (kubectl debug).  Dry runs and mirror pods
-- (workload.ignored) are not judged.
--
-- The pod spec is ev.pod_spec: a Pod's spec, a controller's pod template, a
-- CronJob's job template.  For a patch the engine hands over the patched
-- object when it was logged, else the patch itself; a patch that adds a mount
-- of a volume defined elsewhere cannot be judged and is ignored.

local workload = require("workload")
local view = require("view")

local MAX_LISTED = 3

local function sentence(m)
  local how = m.writable and " writable"
    or " read-only (a runtime socket accepts connections all the same)"
  local s = workload.describe(m) .. " mounts host path " .. view.text(m.host_path, 200) .. how
  if m.mount_path then s = s .. " at " .. view.text(m.mount_path, 200) end
  return s
end

return {
  type = "Persistence:Kubernetes/ContainerWithSensitiveMount",
  severity = "Medium",
  title = "Container given write access to a sensitive node path",
  description = "A workload was created or modified so that a container mounts a sensitive location "
    .. "of the node it runs on (such as /etc, the kubelet's state, or the container runtime socket) "
    .. "through a hostPath volume, and the mount is not read-only. From inside the container one can "
    .. "then change the node itself: plant cron jobs or SSH keys, read the kubelet's credentials and "
    .. "other pods' tokens, or start containers directly through the runtime, bypassing the API "
    .. "server. Intruders use this to escape a container and stay on the node.",
  remediation = "kguard.detail names the container, image, host path and mount point; "
    .. "kubernetesWorkloadDetails names the workload. Confirm with its owner that the mount is "
    .. "needed: `kubectl get <kind> <name> -n <namespace> -o yaml` and look at spec.volumes[].hostPath "
    .. "and the containers' volumeMounts. If nobody expects it, delete the workload "
    .. "(`kubectl delete <kind> <name> -n <namespace>`), check the node for changes under the "
    .. "mounted path, and revoke the credentials of the user under kubernetesUserDetails. If it is "
    .. "needed, mount only the sub-directory required and set readOnly: true where writing is not "
    .. "essential. Block such pods up front with Pod Security Admission: label namespaces "
    .. "`kubectl label ns <namespace> pod-security.kubernetes.io/enforce=baseline` (baseline forbids "
    .. "hostPath volumes; restricted as well), keeping system namespaces that need host access "
    .. "at privileged. For an expected agent (a CSI driver, a log shipper) drop its later findings in "
    .. "your alert pipeline by filtering on the image (kubernetesWorkloadDetails.containers[].image) "
    .. "and the workload's namespace and name, or, when a path is harmless everywhere in your "
    .. "clusters, exempt it in lualib/paths_local.lua (see rules.d/README.md).",
  details = "workload",
  match = {
    api = workload.writes(),
    success = true,
    body = true,
    host_path = true,  -- C skips pod specs without a hostPath volume
  },
  predicate = function(ev)
    if workload.ignored(ev) then return nil end
    local found = workload.sensitive_mounts(ev.pod_spec)
    if #found == 0 then return nil end
    local parts = {}
    for i = 1, math.min(#found, MAX_LISTED) do parts[i] = sentence(found[i]) end
    local detail = table.concat(parts, "; ")
    if #found > MAX_LISTED then
      detail = detail .. string.format("; and %d more such mounts", #found - MAX_LISTED)
    end
    return { detail = detail }
  end,
}
