-- lualib/workload.lua (and lualib/view.lua): containers of every list,
-- privileged flags, hostPath volumes and sensitive writable mounts, on plain
-- tables and on engine-like views, with missing fields and wrong types.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local env = sandbox.new { modules = { paths_local = false } }
local workload = env.require("workload")
local view = env.require("view")

-- Runs check(x, label) on the plain table and on its view.
local function both(t, check)
  check(t, "table")
  check(sandbox.view(t), "view")
end

-- ---- view helpers ----
T.is(env.type(sandbox.view({ a = 1 })), "userdata", "views look like userdata inside the sandbox")
both({ a = { b = { c = "x" } }, s = "str", n = 5, arr = { { k = 1 }, "x", 7, { k = 2 } } }, function(x, how)
  T.is(view.get(x, "a", "b", "c"), "x", how .. ": get follows a path")
  T.is(view.get(x, "a", "zz", "c"), nil, how .. ": get stops at a missing key")
  T.is(view.get(x, "s", "len"), nil, how .. ": get does not index strings")
  T.is(view.get(x, "n", "x"), nil, how .. ": get does not index numbers")
  local l = view.list(x.arr)
  T.is(#l, 2, how .. ": list keeps only object elements")
  T.is(l[2] and l[2].index, 4, how .. ": list keeps positions")
  T.is(#view.list(x.a), 0, how .. ": an object is not a list")
  T.is(#view.list(x.s), 0, how .. ": a string is not a list")
end)
T.is(#view.list(nil), 0, "list(nil) is empty")
T.is(#view.list(true), 0, "list(true) is empty")
T.is(#view.list(sandbox.view({ sandbox.NULL, { k = 1 } })), 1, "a JSON null inside an array is skipped, the rest kept")
T.is(view.text("a\nb\0c"), "a?b?c", "text replaces control characters")
T.is(view.text(string.rep("x", 300), 10), "xxxxxxxxxx...", "text cuts long strings")

-- ---- containers in every list ----
local spec = {
  containers = {
    { name = "app", image = "nginx:1.25" },
    { name = "priv", image = "evil:1", securityContext = { privileged = true } },
  },
  initContainers = {
    { name = "init", image = "busybox:1.36", securityContext = { privileged = true } },
  },
  ephemeralContainers = {
    { name = "debugger", image = "debug:2", securityContext = { privileged = true } },
  },
}
both(spec, function(s, how)
  local cs = workload.containers(s)
  T.is(#cs, 4, how .. ": four containers over the three lists")
  T.is(cs[1].list .. ":" .. cs[1].name, "containers:app", how .. ": containers come first")
  T.is(cs[3].list .. ":" .. cs[3].name, "initContainers:init", how .. ": then initContainers")
  T.is(cs[4].list .. ":" .. cs[4].name .. ":" .. cs[4].image, "ephemeralContainers:debugger:debug:2",
    how .. ": then ephemeralContainers")
  local p = workload.privileged(s)
  T.is(#p, 3, how .. ": privileged found in containers, initContainers and ephemeralContainers")
  T.is(p[1].name .. "," .. p[2].name .. "," .. p[3].name, "priv,init,debugger", how .. ": which ones")
end)

for _, lst in ipairs(workload.LISTS) do
  local s = { [lst] = { { name = "x", image = "img", securityContext = { privileged = true } } } }
  T.is(#workload.privileged(s), 1, "privileged detected in " .. lst .. " alone")
  T.is(#workload.privileged(sandbox.view(s)), 1, "privileged detected in " .. lst .. " alone (view)")
end

-- privileged must be the boolean true
local odd = {
  { securityContext = { privileged = "true" } },
  { securityContext = { privileged = 1 } },
  { securityContext = { privileged = false } },
  { securityContext = "privileged" },
  { securityContext = { allowPrivilegeEscalation = true } },
  { securityContext = { capabilities = { add = { "SYS_ADMIN" } } } },
  {},
}
for i, c in ipairs(odd) do
  T.ok(not workload.is_privileged(c), "not privileged: odd container #" .. i)
  T.ok(not workload.is_privileged(sandbox.view(c)), "not privileged: odd container #" .. i .. " (view)")
end
T.ok(not workload.is_privileged(nil), "is_privileged(nil) is false")
T.ok(not workload.is_privileged("x"), "is_privileged(string) is false")

-- junk specs never raise and give nothing
local junk = {
  nil, 5, "spec", true, {}, { containers = "nginx" }, { containers = 3 }, { containers = { "a", 1, true } },
  { containers = { { name = 5, image = {}, securityContext = { privileged = true } } } },
  { containers = { name = "x" } }, { volumes = "x" }, { volumes = { { hostPath = "/etc", name = "v" } } },
  { volumes = { { hostPath = { path = 5 }, name = "v" } } },
  { containers = { { volumeMounts = "x" } }, volumes = { { name = "v", hostPath = { path = "/etc" } } } },
  { containers = { { volumeMounts = { { name = 1 }, "x", { name = "v", readOnly = "no" } } } } },
  { initContainers = { sandbox.NULL, { name = "i" } }, ephemeralContainers = {} },
}
for i = 1, 16 do
  local s = junk[i]
  local variants = { [1] = s, [2] = sandbox.view(s) }
  for k = 1, 2 do
    local w = variants[k]
    T.lives(function()
      workload.containers(w)
      workload.privileged(w)
      workload.host_path_volumes(w)
      workload.host_mounts(w)
      workload.sensitive_mounts(w)
    end, "junk spec #" .. i .. " (" .. env.type(w) .. ") does not raise")
  end
end
T.is(#workload.privileged(junk[9]), 1, "a privileged container with junk name and image still counts")
T.is(workload.privileged(junk[9])[1].image, nil, "its image is unknown")
T.is(#workload.sensitive_mounts(junk[15]), 0, "no volumes, no sensitive mounts")

-- ---- hostPath volumes ----
local vspec = {
  volumes = {
    { name = "etc", hostPath = { path = "/etc", type = "Directory" } },
    { name = "cfg", configMap = { name = "cfg" } },
    { name = "tok", projected = { sources = {} } },
    { name = "sock", hostPath = { path = "/var/run/docker.sock" } },
    { name = "etc", hostPath = { path = "/tmp" } }, -- duplicate name: first wins
    { hostPath = { path = "/root" } },             -- no name
  },
}
both(vspec, function(s, how)
  local v = workload.host_path_volumes(s)
  T.is(T.keys(v), "etc,sock", how .. ": only named hostPath volumes")
  T.is(v.etc, "/etc", how .. ": first of a duplicate name wins")
end)

-- ---- readOnly and sensitive mounts ----
local function pod(mounts, volumes, extra)
  local s = {
    containers = { { name = "app", image = "nginx:1.25", volumeMounts = mounts } },
    volumes = volumes or {
      { name = "etc", hostPath = { path = "/etc" } },
      { name = "data", hostPath = { path = "/data" } },
      { name = "cfg", configMap = { name = "cfg" } },
      { name = "kubelet", hostPath = { path = "/var/lib/kubelet/" } },
      { name = "root", hostPath = { path = "/" } },
      { name = "varlib", hostPath = { path = "/var/lib" } },
    },
  }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

local cases = {
  { "readOnly absent", { { name = "etc", mountPath = "/host/etc" } }, 1 },
  { "readOnly false", { { name = "etc", mountPath = "/host/etc", readOnly = false } }, 1 },
  { "readOnly true", { { name = "etc", mountPath = "/host/etc", readOnly = true } }, 0 },
  { "readOnly \"true\" (a string) counts as writable", { { name = "etc", mountPath = "/h", readOnly = "true" } }, 1 },
  { "non-sensitive hostPath", { { name = "data", mountPath = "/data" } }, 0 },
  { "configMap volume named in a mount", { { name = "cfg", mountPath = "/etc/cfg" } }, 0 },
  { "mount of an undefined volume", { { name = "nope", mountPath = "/x" } }, 0 },
  { "trailing slash in the hostPath", { { name = "kubelet", mountPath = "/k" } }, 1 },
  { "hostPath / exactly", { { name = "root", mountPath = "/host" } }, 1 },
  { "hostPath / with subPath data is /data", { { name = "root", mountPath = "/d", subPath = "data" } }, 0 },
  { "hostPath /var/lib with subPath kubelet", { { name = "varlib", mountPath = "/k", subPath = "kubelet" } }, 1 },
  { "hostPath /var/lib alone: it holds /var/lib/kubelet", { { name = "varlib", mountPath = "/k" } }, 1 },
  { "hostPath /var/lib with subPathExpr: the hostPath is judged", { { name = "varlib", mountPath = "/k",
    subPathExpr = "$(NODE)" } }, 1 },
  { "two mounts, one read-only", { { name = "etc", mountPath = "/a", readOnly = true },
    { name = "kubelet", mountPath = "/b" } }, 1 },
}
for _, c in ipairs(cases) do
  both(pod(c[2]), function(s, how)
    T.is(#workload.sensitive_mounts(s), c[3], how .. ": " .. c[1])
  end)
end

both(pod({ { name = "etc", mountPath = "/host/etc" }, { name = "cfg", mountPath = "/cfg" } }), function(s, how)
  local m = workload.sensitive_mounts(s)[1]
  T.is(m and m.container, "app", how .. ": mount entry names the container")
  T.is(m and m.image, "nginx:1.25", how .. ": and the image")
  T.is(m and m.mount_path, "/host/etc", how .. ": and the mount path")
  T.is(m and m.host_path, "/etc", how .. ": and the host path")
  T.is(m and m.sensitive, "/etc", how .. ": and the list entry")
  T.is(m and m.list, "containers", how .. ": and the list")
  local hm = workload.host_mounts(s)
  T.is(#hm, 1, how .. ": host_mounts lists hostPath mounts only")
end)

-- mounts in init and ephemeral containers
both({
  initContainers = { { name = "i", image = "busybox", volumeMounts = { { name = "sock", mountPath = "/s" } } } },
  ephemeralContainers = { { name = "e", image = "dbg", volumeMounts = { { name = "proc", mountPath = "/p" } } } },
  volumes = {
    { name = "sock", hostPath = { path = "/run/containerd/containerd.sock" } },
    { name = "proc", hostPath = { path = "/proc/" } },
  },
}, function(s, how)
  local m = workload.sensitive_mounts(s)
  T.is(#m, 2, how .. ": sensitive mounts in initContainers and ephemeralContainers")
  T.is(m[1] and m[1].list, "initContainers", how .. ": first from initContainers")
  T.is(m[2] and m[2].host_path, "/proc", how .. ": second is /proc, normalised")
end)

-- describe
T.is(workload.describe({ name = "app", image = "nginx:1.25", list = "containers" }),
  'container "app" (image nginx:1.25)', "describe a container")
T.is(workload.describe({ list = "initContainers", index = 2 }),
  "init container initContainers[2] (image not in the request)", "describe an unnamed init container")
T.is(workload.describe({ name = "d", image = "x", list = "ephemeralContainers" }),
  'ephemeral container "d" (image x)', "describe an ephemeral container")

-- writes()
local w = workload.writes()
T.is(#w, 26, "writes(): create/update/patch on 8 workload kinds + 2 ephemeralcontainers entries")
T.ok(w ~= workload.writes(), "writes() returns a fresh list")
local catalog = env.require("catalog")
for _, e in ipairs(w) do
  T.ok(catalog.parse(e) ~= nil, "writes() entry parses: " .. e)
end

T.done()
