-- lualib/paths.lua: sensitive host paths (normalize, is_sensitive, the
-- paths_local extension) and the query-string helper.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local paths = sandbox.new { modules = { paths_local = false } }.require("paths")

-- ---- normalize ----
local norm = {
  { "/etc", "/etc" }, { "/etc/", "/etc" }, { "//etc/", "/etc" }, { "/etc//kubernetes///pki", "/etc/kubernetes/pki" },
  { "/var/../etc", "/etc" }, { "/var/lib/./kubelet", "/var/lib/kubelet" }, { "/", "/" }, { "//", "/" },
  { "/..", "/" }, { "/../../etc", "/etc" }, { "/./", "/" }, { "etc", "/etc" }, { "./etc/../root", "/root" },
  { "/var/lib/kubelet/..", "/var/lib" }, { "/a/b/../../c/", "/c" }, { "/etc/...", "/etc/..." },
}
for _, c in ipairs(norm) do T.is(paths.normalize(c[1]), c[2], "normalize " .. c[1]) end
T.is(paths.normalize(""), nil, "normalize of an empty string is nil")
T.is(paths.normalize(nil), nil, "normalize(nil) is nil")
T.is(paths.normalize(5), nil, "normalize(5) is nil")
T.is(paths.normalize({}), nil, "normalize(table) is nil")

-- ---- the contract's list is there ----
local want = { "/", "/etc", "/root", "/proc", "/var/lib/kubelet", "/etc/kubernetes", "/var/run/docker.sock",
  "/run/docker.sock", "/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock",
  "/var/run/crio/crio.sock", "/run/crio/crio.sock" }
local have = {}
for _, e in ipairs(paths.sensitive) do have[e] = true end
for _, e in ipairs(want) do T.ok(have[e], "paths.sensitive has " .. e) end
for _, e in ipairs(paths.sensitive) do
  T.is(paths.normalize(e), e, "list entry " .. e .. " is normalised")
end

-- ---- is_sensitive ----
local yes = {
  "/", "//", "/etc", "/etc/", "//etc/", "/var/../etc", "/etc/kubernetes/pki", "/etc/kubernetes/manifests",
  "/etc/shadow", "/root", "/root/.ssh", "/proc", "/proc/sys/kernel", "/var/lib/kubelet",
  "/var/lib/kubelet/pods", "/var/lib/kubelet/pki/kubelet-client-current.pem", "/var/run/docker.sock",
  "/run/docker.sock", "/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock",
  "/var/run/crio/crio.sock", "/run/crio/crio.sock", "/var/lib/etcd", "/var/lib/docker/overlay2",
  "/var/lib/containerd", "/home/admin", "/boot", "/usr/bin", "/lib/modules", "/var/lib/kubelet/../kubelet/x",
  "/tmp/../proc/1", "/data/../../../etc",
  -- directories that hold a sensitive path
  "/var", "/var/lib", "/var/run", "/run", "/run/containerd",
}
local no = {
  "/etcd", "/etc2", "/data", "/tmp", "/var/lib/kubelet2", "/var/log",
  "/var/run/docker", "/rootfs", "/procfs", "/opt/cni/bin", "/sys/fs/bpf",
  "/dev", "/var/lib/kube", "/home2", "/mnt/etc",
}
for _, p in ipairs(yes) do T.ok(paths.is_sensitive(p), p .. " is sensitive") end
for _, p in ipairs(no) do T.ok(not paths.is_sensitive(p), p .. " is not sensitive") end
local _, entry = paths.is_sensitive("/etc/kubernetes/pki")
T.ok(entry == "/etc" or entry == "/etc/kubernetes", "the covering entry is returned (" .. tostring(entry) .. ")")
local _, e2 = paths.is_sensitive("/var/lib/kubelet/pods")
T.is(e2, "/var/lib/kubelet", "/var/lib/kubelet/pods is covered by /var/lib/kubelet")
T.ok(not paths.is_sensitive(nil), "nil is not sensitive")
T.ok(not paths.is_sensitive(""), "'' is not sensitive")
T.ok(not paths.is_sensitive(7), "a number is not sensitive")

-- ---- paths_local ----
local function with_local(src)
  return sandbox.new { modules = { paths_local = src } }
end

local lp = with_local('return { sensitive = { "/opt/vault/", "//srv/keys", "/etc" }, exempt = { "/etc/localtime" } }')
  .require("paths")
T.ok(lp.is_sensitive("/opt/vault/data"), "paths_local adds /opt/vault (normalised)")
T.ok(lp.is_sensitive("/srv/keys"), "paths_local adds /srv/keys (normalised)")
T.ok(not lp.is_sensitive("/etc/localtime"), "paths_local exempts /etc/localtime")
T.ok(lp.is_sensitive("/etc/shadow"), "other /etc paths stay sensitive")
local n = 0
for _, e in ipairs(lp.sensitive) do if e == "/etc" then n = n + 1 end end
T.is(n, 1, "duplicates are ignored")
T.ok(lp.is_health("/healthz"), "paths with paths_local still has the health helpers")

T.ok(with_local("return {}").require("paths").is_sensitive("/etc"), "an empty paths_local is fine")
T.throws(function() with_local('return { sensitiv = { "/x" } }').require("paths") end,
  { "paths_local", "unknown key sensitiv" }, "unknown key is an error")
T.throws(function() with_local('return { sensitive = { "opt/x" } }').require("paths") end,
  { "paths_local", "sensitive[1]", "not an absolute path" }, "relative path is an error")
T.throws(function() with_local('return { exempt = { 5 } }').require("paths") end,
  { "paths_local", "exempt[1]" }, "non-string entry is an error")
T.throws(function() with_local('return { sensitive = "/x" }').require("paths") end,
  { "paths_local", "list" }, "non-list is an error")
T.throws(function() with_local("return 5").require("paths") end,
  { "paths_local", "must return a table" }, "non-table module is an error")
T.throws(function() with_local("error('boom in paths_local')").require("paths") end,
  "boom in paths_local", "an error inside paths_local is not swallowed")
T.throws(function()
  sandbox.new { modules = { paths_local = function() error("module 'other' not found", 0) end } }.require("paths")
end, "module 'other' not found", "a missing module other than paths_local is not swallowed")

-- ---- query ----
local uri = "/api/v1/namespaces/kube-system/pods/coredns-1/exec?command=sh&command=-c&command=cat+%2Fetc%2Fshadow"
  .. "&container=coredns&stdin=true&tty=true"
T.same_list(paths.query(uri, "command"), { "sh", "-c", "cat /etc/shadow" }, "query decodes repeated parameters")
T.same_list(paths.query(uri, "container"), { "coredns" }, "query: single parameter")
T.same_list(paths.query(uri, "nope"), {}, "query: missing parameter")
T.same_list(paths.query("/api/v1/pods", "command"), {}, "query: no query string")
T.same_list(paths.query(nil, "command"), {}, "query: nil URI")
T.same_list(paths.query("/x?command=a&&command=&x", "command"), { "a", "" }, "query: empty values kept")

T.done()
