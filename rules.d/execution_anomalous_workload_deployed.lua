-- Execution:Kubernetes/AnomalousBehavior.WorkloadDeployed
--
-- A workload (Pod, Deployment, DaemonSet, StatefulSet, ReplicaSet, Job,
-- CronJob, ReplicationController) was created or changed in a way new for
-- that user.
-- Baseline "workloads": identity user.username; dimensions namespace, the
-- image repository of each container (no tag or digest: a new version of a
-- known image is not new), source network, user agent.  Severity Low,
-- Medium when an image looks like an attack tool or a container starts with
-- a reverse-shell-like command.  Workloads with a privileged container or a
-- writable sensitive host mount are judged by the two
-- AnomalousBehavior.WorkloadDeployed!... rules instead.

local anomaly = require("anomaly")
local workload = require("workload")
local view = require("view")

local SUSPICIOUS_IMAGES = {
  "kali", "metasploit", "xmrig", "cobalt", "sliver", "peirates", "kube%-hunter",
  "nmap", "masscan", "chisel", "ncat", "socat", "botb", "deepce",
}
local SUSPICIOUS_COMMANDS = {
  "/dev/tcp/", "nc %-e", "ncat %-e", "bash %-i", "sh %-i", "mkfifo", "socat exec:",
  "python[%d.]* %-c .*socket", "curl .*|%s*sh", "wget .*|%s*sh", "base64 %-d.*|%s*sh",
}

local function suspicious(containers)
  for _, c in ipairs(containers) do
    local image = (c.image or ""):lower()
    for _, p in ipairs(SUSPICIOUS_IMAGES) do
      if image:find(p) then return "image " .. view.text(c.image, 200) end
    end
    local words = {}
    for _, key in ipairs({ "command", "args" }) do
      local list = view.get(c.container, key)
      for i = 1, (view.node(list) ~= nil and #list or 0) do
        if type(list[i]) == "string" then words[#words + 1] = list[i] end
      end
    end
    local line = table.concat(words, " "):lower()
    for _, p in ipairs(SUSPICIOUS_COMMANDS) do
      if line:find(p) then return "command " .. view.text(line, 200) end
    end
  end
  return nil
end

return {
  type = "Execution:Kubernetes/AnomalousBehavior.WorkloadDeployed",
  severity = "Low",
  title = "Workload deployed in a way new for this user",
  description = "A user created or changed a workload in a namespace, with an image repository, "
    .. "or from a network or client that it had not used for workloads during kguard's "
    .. "learning period. Running a container is how an intruder turns API access into code "
    .. "execution in the cluster. The finding is Medium when an image looks like an attack tool "
    .. "or a container starts with a reverse-shell-like command.",
  remediation = "Check the workload (kubernetesWorkloadDetails) with its owner. If it is not "
    .. "expected, delete it, look at what it ran, and revoke the credential of the user under "
    .. "kubernetesUserDetails.",
  details = "workload",
  match = {
    api = workload.writes(),
    success = true,
  },
  predicate = function(ev)
    if not anomaly.profiled(ev) then return nil end -- cheap: before any body work
    local spec = ev.pod_spec
    if spec ~= nil and (#workload.privileged(spec) > 0 or #workload.sensitive_mounts(spec) > 0) then
      return nil
    end
    local containers = workload.containers(spec)
    local r = anomaly.check(ev, "workloads", anomaly.workload_dims(ev, containers))
    if r == nil then return nil end
    local why = suspicious(containers)
    if why then
      r.detail = r.detail .. "; suspicious " .. why
      return anomaly.finding(r, "Medium")
    end
    return anomaly.finding(r)
  end,
}
