-- PrivilegeEscalation:Kubernetes/PrivilegedContainer
--
-- A workload was created or changed so that a container (in containers,
-- initContainers or ephemeralContainers) runs with securityContext.privileged
-- = true, and its image had never run privileged in this cluster before.
--
-- State: the table "privileged_images" remembers every image seen in a
-- privileged container (key: the image reference exactly as written in the
-- spec; no expiry, so with --state an image stays known across runs).  Every
-- privileged image of the request is recorded, and the rule fires when at
-- least one of them was new.  Once a Deployment has fired, the ReplicaSet and
-- Pods its controllers create with the same image stay quiet.
--
-- A privileged container without an image in the request (a patch that only
-- sets securityContext) cannot be compared: it fires, and nothing is
-- recorded.  A dry run (?dryRun=All) and a kubelet's mirror pod neither fire
-- nor are recorded (workload.ignored): a --dry-run=server must not make the
-- first real launch of an image look familiar.

local workload = require("workload")
local view = require("view")
local scope = require("scope")

local seen = kguard.table("privileged_images", { max_entries = 100000, ttl = 0 })

local MAX_LISTED = 3

return {
  type = "PrivilegeEscalation:Kubernetes/PrivilegedContainer",
  severity = "Medium",
  title = "Privileged container with a first-time image",
  description = "A workload was created or modified so that one of its containers runs privileged, "
    .. "and the image involved had not been used for a privileged container in this cluster before. "
    .. "A privileged container has practically the same power as root on the node: it sees the "
    .. "host's devices, can load kernel modules and can leave its container with little effort. "
    .. "Attackers who can create pods use this to take over nodes; a new image doing so deserves a "
    .. "look.",
  remediation = "kguard.detail names the container and image; kubernetesWorkloadDetails names the "
    .. "workload. Ask its owner whether the image needs privileged mode (`kubectl get <kind> <name> "
    .. "-n <namespace> -o yaml`, securityContext.privileged). If the launch is not expected, delete "
    .. "the workload (`kubectl delete <kind> <name> -n <namespace>`), inspect the node it ran on, and "
    .. "revoke the credentials of the user under kubernetesUserDetails. If it is expected, prefer "
    .. "granting only the capabilities needed (securityContext.capabilities.add) over privileged. "
    .. "Enforce Pod Security Admission: `kubectl label ns <namespace> "
    .. "pod-security.kubernetes.io/enforce=baseline` (or restricted) rejects privileged "
    .. "containers; leave privileged only on namespaces of vetted system agents. An image reported "
    .. "once is remembered in the state table privileged_images and does not fire again; run with "
    .. "--state FILE so this survives restarts.",
  details = "workload",
  match = {
    api = workload.writes(),
    success = true,
    body = true,
    privileged = true,  -- C skips pod specs without a privileged container
  },
  predicate = function(ev)
    if workload.ignored(ev) then return nil end -- no finding, no baseline update
    local fresh = {}
    for _, e in ipairs(workload.privileged(ev.pod_spec)) do
      if e.image == nil then
        fresh[#fresh + 1] = e
      elseif seen:add(scope.key(ev, e.image)) then -- record every privileged image, new or not
        fresh[#fresh + 1] = e
      end
    end
    if #fresh == 0 then return nil end
    local parts = {}
    for i = 1, math.min(#fresh, MAX_LISTED) do
      local e = fresh[i]
      parts[i] = "privileged " .. workload.describe(e)
        .. (e.image and ", image not seen privileged before" or "")
    end
    local detail = table.concat(parts, "; ")
    if #fresh > MAX_LISTED then
      detail = detail .. string.format("; and %d more", #fresh - MAX_LISTED)
    end
    return { detail = view.text(detail, 1000) }
  end,
}
