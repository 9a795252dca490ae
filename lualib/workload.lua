-- workload.lua: reading containers, privileges and host mounts out of a pod
-- spec (ev.pod_spec: a Pod's spec, a controller's spec.template.spec, a
-- CronJob's spec.jobTemplate.spec.template.spec).
--
-- The spec comes from a request body, possibly a partial one (a patch), so
-- every field may be missing or of the wrong type; nothing here raises on
-- that, wrong types are simply not counted (see lualib/view.lua).
--
--     workload.LISTS                 {"containers", "initContainers",
--                                     "ephemeralContainers"}
--     workload.containers(spec)      -> list of entries
--         {container = <the container object>, list = "initContainers",
--          index = 2, name = "setup" | nil, image = "busybox:1.36" | nil}
--         in the order containers, initContainers, ephemeralContainers.
--     workload.is_privileged(c)      -> true when c.securityContext.privileged
--                                       is the JSON boolean true
--     workload.privileged(spec)      -> the entries of containers(spec) that
--                                       are privileged
--     workload.host_path_volumes(spec) -> {volume name = host path string}
--                                       (only volumes with a hostPath.path
--                                       string; the first of a duplicate name
--                                       wins)
--     workload.is_writable(mount)    -> false only when mount.readOnly is the
--                                       boolean true (absent, false or any
--                                       other value: the mount is writable)
--     workload.host_mounts(spec)     -> every mount of a hostPath volume:
--         {container = name|nil (also as .name), image = image|nil, list = ...,
--          index = ...,
--          volume = "etc", mount_path = "/host/etc" | nil,
--          host_path = "/etc" (normalised, with subPath applied),
--          writable = true|false}
--     workload.sensitive_mounts(spec) -> the host_mounts that are writable and
--         whose host_path is sensitive (lualib/paths.lua), and those, even
--         read-only, that reach a container runtime socket
--         (paths.is_runtime_socket; marked socket = true), each with
--         sensitive = the list entry that covers it.
--     workload.is_mirror_pod(ev)     -> a kubelet (system:node:NAME) writing a
--                                       pod annotated kubernetes.io/config.mirror
--     workload.ignored(ev)           -> "dry run" | "mirror pod" | nil: writes
--                                       that get no workload finding and must
--                                       not update a baseline
--     workload.describe(entry)       -> 'container "app" (image nginx:1.25)'
--     workload.WORKLOADS, workload.writes()
--         the resources that carry a pod spec, and a fresh copy of the
--         match.api list of the calls that write one: create/update/patch on
--         each of them, and update/patch pods/ephemeralcontainers
--
-- A volumeMount whose volume is not a hostPath (configMap, secret, emptyDir,
-- projected service-account tokens...) or is not defined in the spec at all
-- (a patch that adds only the mount) is ignored.
--
-- subPath: a mount of hostPath "/var/lib" with subPath "kubelet" gives the
-- container /var/lib/kubelet, so the host path judged is hostPath + "/" +
-- subPath, normalised.  subPathExpr (expanded from environment variables on
-- the node) cannot be resolved here, so the hostPath itself is judged.

local view = require("view")
local paths = require("paths")

local node, get, str, list = view.node, view.get, view.str, view.list

local workload = {}

workload.LISTS = { "containers", "initContainers", "ephemeralContainers" }

-- Resources whose bodies carry a pod spec (where ev.pod_spec finds it).
workload.WORKLOADS = {
  "pods", "deployments", "daemonsets", "statefulsets", "replicasets", "jobs",
  "cronjobs", "replicationcontrollers",
}

function workload.writes()
  local api = {}
  for _, r in ipairs(workload.WORKLOADS) do
    for _, verb in ipairs({ "create", "update", "patch" }) do
      api[#api + 1] = verb .. " " .. r
    end
  end
  api[#api + 1] = "update pods/ephemeralcontainers"
  api[#api + 1] = "patch pods/ephemeralcontainers"
  return api
end

function workload.containers(spec)
  local out = {}
  if node(spec) == nil then return out end
  for _, key in ipairs(workload.LISTS) do
    for _, item in ipairs(list(spec[key])) do
      local c = item.value
      out[#out + 1] = {
        container = c,
        list = key,
        index = item.index,
        name = str(c.name),
        image = str(c.image),
      }
    end
  end
  return out
end

function workload.is_privileged(c)
  return get(c, "securityContext", "privileged") == true
end

function workload.privileged(spec)
  local out = {}
  for _, e in ipairs(workload.containers(spec)) do
    if workload.is_privileged(e.container) then out[#out + 1] = e end
  end
  return out
end

function workload.host_path_volumes(spec)
  local out = {}
  for _, item in ipairs(list(get(spec, "volumes"))) do
    local v = item.value
    local name, hp = str(v.name), str(get(v, "hostPath", "path"))
    if name and hp and out[name] == nil then out[name] = hp end
  end
  return out
end

function workload.is_writable(mount)
  return get(mount, "readOnly") ~= true
end

-- The host path a mount exposes: the volume's path, plus subPath when given.
local function effective_host_path(host_path, mount)
  -- a Windows path (C:\..., \\.\pipe\...) is judged as written
  if host_path:find("\\", 1, true) then return host_path end
  local sub = str(get(mount, "subPath"))
  if sub and sub ~= "" then
    return paths.normalize(host_path .. "/" .. sub)
  end
  return paths.normalize(host_path)
end

function workload.host_mounts(spec)
  local out = {}
  local volumes = workload.host_path_volumes(spec)
  if next(volumes) == nil then return out end
  for _, e in ipairs(workload.containers(spec)) do
    for _, item in ipairs(list(e.container.volumeMounts)) do
      local m = item.value
      local vname = str(m.name)
      local hp = vname and volumes[vname]
      if hp then
        out[#out + 1] = {
          container = e.name,
          name = e.name,
          image = e.image,
          list = e.list,
          index = e.index,
          volume = vname,
          mount_path = str(m.mountPath),
          host_path = effective_host_path(hp, m),
          writable = workload.is_writable(m),
        }
      end
    end
  end
  return out
end

function workload.sensitive_mounts(spec)
  local out = {}
  for _, m in ipairs(workload.host_mounts(spec)) do
    local yes, entry = false, nil
    if m.writable then yes, entry = paths.is_sensitive(m.host_path) end
    if not yes then
      yes, entry = paths.is_runtime_socket(m.host_path)
      m.socket = yes
    end
    if yes then
      m.sensitive = entry
      out[#out + 1] = m
    end
  end
  return out
end

-- A mirror pod: the API server's copy of a static pod, which the kubelet
-- runs from a manifest on its node's disk (/etc/kubernetes/manifests) and
-- reports with the annotation kubernetes.io/config.mirror.  Only a kubelet
-- (user system:node:NAME; NodeRestriction lets it create no other pods)
-- creates them, so the annotation alone, which anyone may write, is not
-- enough.
function workload.is_mirror_pod(ev)
  if ev.resource ~= "pods" then return false end
  local user = str(ev.username)
  if user == nil or not user:match("^system:node:.") then return false end
  return str(get(ev.body, "metadata", "annotations", "kubernetes.io/config.mirror")) ~= nil
end

-- Why a workload write gets no workload finding, or nil: a dry run
-- (?dryRun=All persists nothing; its pod spec must not enter any baseline
-- either) or a mirror pod (its spec lives on the node, not in the API).
function workload.ignored(ev)
  if paths.is_dry_run(ev.request_uri) then return "dry run" end
  if workload.is_mirror_pod(ev) then return "mirror pod" end
  return nil
end

-- 'container "app" (image nginx:1.25)'; unnamed containers are named by list
-- and position, a missing image is said so.
function workload.describe(e)
  local who
  if e.name then
    who = string.format('container "%s"', view.text(e.name, 63))
  else
    who = string.format("container %s[%d]", e.list or "containers", e.index or 0)
  end
  if e.list == "initContainers" then
    who = "init " .. who
  elseif e.list == "ephemeralContainers" then
    who = "ephemeral " .. who
  end
  local image = e.image and view.text(e.image, 200) or "not in the request"
  return who .. " (image " .. image .. ")"
end

return workload
