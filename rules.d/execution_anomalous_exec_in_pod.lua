-- Execution:Kubernetes/AnomalousBehavior.ExecInPod
--
-- A command was run in a pod (kubectl exec: create or get pods/exec) in a
-- way new for that user.
-- Baseline "exec": identity user.username; dimensions namespace, workload
-- (the pod name without the hash suffixes a controller adds), source
-- network, user agent.  Execution:Kubernetes/ExecInKubeSystemPod stays a
-- rule of its own.

local anomaly = require("anomaly")
local view = require("view")

local SUFFIX5 = "%-[%l%d][%l%d][%l%d][%l%d][%l%d]$"

-- The pod's workload: "api-7d9f8c6b5-x2x9z" (Deployment) -> "api",
-- "db-0" (StatefulSet) -> "db", "agent-x2x9z" (DaemonSet, Job) -> "agent".
local function workload(pod)
  if type(pod) ~= "string" then return nil end
  local base, hash = pod:match("^(.+)%-([%l%d]+)" .. SUFFIX5:sub(1, -2) .. "$")
  if base and #hash >= 6 and #hash <= 10 then return base end
  return pod:match("^(.+)%-%d+$") or pod:match("^(.+)" .. SUFFIX5) or pod
end

local function command(ev)
  local ok, words = pcall(ev.query, "command")
  if ok and type(words) == "table" and #words > 0 then
    return view.text(table.concat(words, " "), 200)
  end
  return nil
end

return {
  type = "Execution:Kubernetes/AnomalousBehavior.ExecInPod",
  severity = "Medium",
  title = "Command run in a pod in a way new for this user",
  description = "A user ran a command inside a pod (kubectl exec) in a namespace or workload, or "
    .. "from a network or client, that it had not used for exec during kguard's learning "
    .. "period. exec gives a shell with the pod's service-account token and mounted secrets; "
    .. "an intruder uses it to move from the API into workloads.",
  remediation = "Ask the user (kubernetesUserDetails) about the command (kguard.detail). If it was "
    .. "not theirs, revoke the credential, inspect the pod named in the finding, and rotate the "
    .. "secrets it mounts.",
  match = {
    api = { "create pods/exec", "get pods/exec" },
    success = true,
  },
  predicate = function(ev)
    if not anomaly.profiled(ev) then return nil end -- cheap: before any body work
    local dims = anomaly.common(ev)
    table.insert(dims, 2, { name = "workload", value = workload(ev.name) })
    local r = anomaly.check(ev, "exec", dims)
    if r == nil then return nil end
    local cmd = command(ev)
    if cmd then r.detail = r.detail .. "; command: " .. cmd end
    return anomaly.finding(r)
  end,
}
