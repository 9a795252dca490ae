-- Execution:Kubernetes/ExecInKubeSystemPod
--
-- A command was run inside a pod of the kube-system namespace (kubectl exec:
-- create pods/exec, or get pods/exec from websocket clients).  kube-system
-- holds the cluster's own components (DNS, CNI and CSI agents, kube-proxy,
-- cloud controllers), which often run with broad service-account rights or
-- host access; people rarely need a shell in them.
--
-- The kubelet's own exec, run and attach endpoints reached through the API
-- server's node proxy (/api/v1/nodes/NODE/proxy/exec/kube-system/POD/...)
-- do the same without touching pods/exec, so they count too.
--
-- match selects the exec and node proxy requests that were allowed and
-- answered; the predicate keeps those aimed at kube-system and writes the
-- command and the pod into kguard.detail.  It never raises.  The command and
-- container come from the request URI's query (ev.query, or parsed here when
-- the engine lacks it), else from the PodExecOptions object that newer API
-- servers log as the requestObject ({"command": [...], "container": "..."}).

local paths = require("paths")
local view = require("view")

local function field(ev, key)
  local ok, v = pcall(function() return ev[key] end)
  if ok then return v end
  return nil
end

-- The values of query parameter `key`: ev.query(key) when the engine has it,
-- else parsed from ev.request_uri.
local function query(ev, key)
  local q = field(ev, "query")
  if type(q) == "function" then
    local ok, v = pcall(q, key)
    if ok and type(v) == "table" then return v end
  end
  return paths.query(field(ev, "request_uri"), key)
end

local function strings(list)
  local words = {}
  if view.node(list) == nil then return words end
  for i = 1, #list do
    local a = list[i]
    if type(a) == "string" then words[#words + 1] = a end
  end
  return words
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- The kubelet's API reached through the API server's node proxy:
-- /api/v1/nodes/NODE/proxy/{exec,run,attach}/NAMESPACE/POD[/UID]/CONTAINER
-- (also the old /api/v1/proxy/nodes/NODE/...).  The path after "proxy" is
-- decoded and normalised first ("//", ".", "..", %2D), as the kubelet's router
-- would read it.  -> action, namespace, pod, container | nil
local KUBELET_ACTIONS = { exec = true, run = true, attach = true }

local function kubelet_target(uri)
  if type(uri) ~= "string" then return nil end
  local path = uri:match("^[^?#]*")
  local rest = path:match("^/api/v1/nodes/[^/]+/proxy(/.*)$")
    or path:match("^/api/v1/proxy/nodes/[^/]+(/.*)$")
  rest = rest and paths.normalize(unescape(rest))
  if rest == nil then return nil end
  local segs = {}
  for seg in rest:gmatch("[^/]+") do segs[#segs + 1] = seg end
  if not KUBELET_ACTIONS[segs[1]] or #segs < 4 then return nil end
  return segs[1], segs[2], segs[3], segs[#segs]
end

local function command_words(ev, options)
  local words = strings(query(ev, "command"))
  if #words == 0 then words = strings(query(ev, "cmd")) end  -- the kubelet's /run
  if #words == 0 then words = strings(view.get(options, "command")) end
  return words
end

local function describe(ev, pod, container, how)
  local options = field(ev, "request_object")  -- PodExecOptions, when logged
  local where = "pod kube-system/" .. view.text(pod or "?", 253)
  container = container or query(ev, "container")[1] or view.str(view.get(options, "container"))
  if type(container) == "string" then
    where = where .. ' (container "' .. view.text(container, 63) .. '")'
  end
  where = where .. (how or "")
  local words = command_words(ev, options)
  if #words == 0 then
    return "exec into " .. where .. "; the command is not in the request"
  end
  return "exec into " .. where .. ": " .. view.text(table.concat(words, " "), 200)
end

-- The detail for an event that is an exec into a kube-system pod, else nil.
local function judge(ev)
  if field(ev, "resource") == "pods" then
    if field(ev, "namespace") ~= "kube-system" then return nil end
    return describe(ev, view.str(field(ev, "name")))
  end
  local action, ns, pod, container = kubelet_target(field(ev, "request_uri"))
  if action == nil or ns ~= "kube-system" then return nil end
  local node = view.str(field(ev, "name")) or "?"
  return describe(ev, pod, container,
    string.format(" through the kubelet API of node %s (%s)", view.text(node, 253), action))
end

return {
  type = "Execution:Kubernetes/ExecInKubeSystemPod",
  severity = "Medium",
  title = "Command run inside a kube-system pod",
  description = "Someone ran a command inside a pod of the kube-system namespace (kubectl exec or an "
    .. "exec websocket), and the API server let it through. The pods there belong to the cluster's "
    .. "own machinery and many of them carry powerful service-account tokens or reach into the "
    .. "node, so a shell in one of them is a common step for an intruder who wants to widen access "
    .. "or hide among system processes. Routine administration seldom needs it.",
  remediation = "Check with the person or automation shown under kubernetesUserDetails whether the "
    .. "exec was planned; kguard.detail shows the pod and command. Look at what else that identity did "
    .. "around the same time (the API server audit log, and `kubectl get events -n kube-system "
    .. "--sort-by=.lastTimestamp`). If it was not planned, treat the credentials as stolen: revoke "
    .. "them, and restart the affected pod so any process left behind goes away "
    .. "(`kubectl delete pod -n kube-system <pod>`; its controller recreates it), then review the "
    .. "pod's service account permissions (`kubectl auth can-i --list "
    .. "--as=system:serviceaccount:kube-system:<sa>`). Going forward, keep pods/exec in kube-system "
    .. "out of everyday roles: check an identity with `kubectl auth can-i create pods/exec -n "
    .. "kube-system --as=<user>`, review the bindings in `kubectl get rolebindings,clusterrolebindings "
    .. "-A -o wide`, and grant it only to a break-glass group.",
  details = "workload",
  match = {
    -- the namespace is checked in the predicate: a node proxy request has none
    api = { "create pods/exec", "get pods/exec", "create nodes/proxy", "get nodes/proxy" },
    success = true,
  },
  predicate = function(ev)
    local ok, detail = pcall(judge, ev)
    if not ok then -- never expected; keep the documented match-only behaviour
      return field(ev, "resource") == "pods" and field(ev, "namespace") == "kube-system"
    end
    if detail == nil then return nil end
    return { detail = detail }
  end,
}
