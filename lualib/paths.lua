-- paths.lua: request paths that rules treat specially.
--
-- paths.health lists the API server's health and version endpoints.  These are
-- non-resource URLs that a stock cluster opens to everyone: the default
-- ClusterRole system:public-info-viewer, bound to system:authenticated and
-- system:unauthenticated, allows GET on them so that load balancers, kubelets,
-- liveness/readiness probes and `kubectl version` work without credentials.
-- An anonymous, successful request to them is routine traffic, not an attack,
-- so the SuccessfulAnonymousAccess rules exclude them (match.exclude_paths).
--
-- Coverage follows the contract's exclude_paths rule: an entry also covers
-- everything below it and any query string, so "/healthz" covers
-- "/healthz/etcd", "/livez/ping" is covered by "/livez", "/readyz?verbose" by
-- "/readyz", and "/version?timeout=32s" by "/version".  "/healthzfoo" is not
-- covered.
--
-- The API-tactic rules also require a "verb resource" match, which a
-- non-resource request never satisfies, so this exclusion is a second guard:
-- it keeps probe traffic out of anonymous-access findings even if a rule's
-- matching is widened later.
--
-- Helpers for predicates and tests:
--     paths.matches(request_uri, list) -> boolean  (the exclude_paths rule)
--     paths.is_health(request_uri)     -> boolean
--     paths.query(request_uri, name)   -> list of the parameter's decoded values
--
-- paths.sensitive lists the node (host) paths that a container must not get
-- write access to through a hostPath volume; the rule
-- Persistence:Kubernetes/ContainerWithSensitiveMount uses it through
--     paths.normalize(path)    -> the canonical absolute form, or nil
--     paths.is_sensitive(path) -> true, the list entry that covers it | false
--     paths.is_runtime_socket(path) -> true, entry | false: a container runtime
--                                 socket, its directory, or a directory holding
--                                 one (paths.runtime_sockets,
--                                 paths.runtime_socket_dirs); sensitive even
--                                 when mounted read-only
--     paths.is_dry_run(request_uri) -> true for ?dryRun=All (nothing persisted)
-- Coverage: an entry covers itself and everything below it ("/etc" covers
-- "/etc/kubernetes/pki", not "/etcd"), except "/" which covers only "/" (a
-- container that mounts "/" sees the whole node; one that mounts "/data" does
-- not).  A directory above an entry is sensitive too ("/var" holds
-- "/var/lib/kubelet").  The path is normalised first: "//" collapsed, "." and ".." resolved
-- ("/var/../etc" is "/etc", ".." stops at "/"), a trailing "/" dropped; a
-- relative path is read from "/".  The comparison is exact otherwise (Linux
-- paths are case-sensitive; a symlink on the node is not resolved).
--
-- Local changes without editing this file: a module lualib/paths_local.lua
-- may return
--     return {
--       sensitive = { "/opt/vault", "/srv/keys" },  -- appended (normalised,
--                                                   -- duplicates ignored)
--       exempt    = { "/etc/localtime" },           -- not sensitive, nor is
--                                                   -- anything below them
--     }
-- Both keys are optional; other keys, entries that are not absolute paths
-- and any error while loading the module stop the rules from loading.  Only
-- a missing paths_local ("module 'paths_local' not found") is fine.

local urlquery = require("urlquery")  -- built into kguard (src/lua_urlquery.c)

local paths = {}

paths.health = { "/healthz", "/livez", "/readyz", "/version" }

function paths.matches(uri, list)
  if type(uri) ~= "string" then return false end
  for _, p in ipairs(list) do
    if uri == p then return true end
    if uri:sub(1, #p) == p then
      local nextc = uri:sub(#p + 1, #p + 1)
      if nextc == "/" or nextc == "?" then return true end
    end
  end
  return false
end

function paths.is_health(uri)
  return paths.matches(uri, paths.health)
end

-- Host paths whose write access from a container is a foothold on the node.
-- Entries are normalised absolute paths; sub-paths count except for "/".
paths.sensitive = {
  -- The node's whole file system: every other entry, the kubelet's
  -- credentials, the container runtime, cron, systemd units...  Exact only.
  "/",
  -- Host configuration: users and passwords (passwd, shadow, sudoers), cron
  -- jobs, systemd units, ld.so.preload, ssh keys, the kubelet's config; a
  -- write here gives root on the node at the next login, boot or cron run.
  "/etc",
  -- root's home: .ssh/authorized_keys, shell start-up files.
  "/root",
  -- The host's process table (with hostPID) and kernel knobs such as
  -- /proc/sys/kernel/core_pattern, whose helper runs as root on the host.
  "/proc",
  -- The kubelet's state: its client certificates and kubeconfig (pki/), the
  -- volumes and projected service-account tokens of every pod on the node
  -- (pods/), device-plugin and plugin sockets.
  "/var/lib/kubelet",
  -- Control-plane and kubelet configuration: admin.conf, the cluster CA and
  -- its key (pki/), static pod manifests (manifests/, run by the kubelet
  -- with no API server check).  Already under /etc; listed for clarity.
  "/etc/kubernetes",
  -- Container runtime sockets: whoever can talk to them starts privileged
  -- containers on the node, outside the API server and its admission checks.
  -- /var/run is a link to /run on most distributions; both spellings occur.
  "/var/run/docker.sock",
  "/run/docker.sock",
  "/var/run/containerd/containerd.sock",
  "/run/containerd/containerd.sock",
  "/var/run/crio/crio.sock",
  "/run/crio/crio.sock",
  -- Added to the contract's list:
  -- etcd's data directory on control-plane nodes: every Secret of the
  -- cluster in clear (unless encryption at rest is on) and the whole state,
  -- which can be rewritten offline.
  "/var/lib/etcd",
  -- Container runtime storage: image layers and the root file systems of the
  -- other containers on the node; writing here alters what other pods run.
  "/var/lib/docker",
  "/var/lib/containerd",
  "/var/lib/containers",
  -- Home directories of the node's users (.ssh/authorized_keys), as /root.
  "/home",
  -- Kernel, initramfs and boot loader configuration: survives reboots.
  "/boot",
  -- Host programs and libraries (/bin, /sbin, /lib, /lib64 are links into
  -- /usr on merged-usr systems, real directories elsewhere): a replaced
  -- binary or library runs as root the next time the node uses it.
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib64",
}
-- Deliberately not listed, because stock add-ons mount them writable and
-- would drown the real cases: /sys and /dev (CSI node plugins, Cilium's
-- /sys/fs/bpf, GPU device plugins), /var/log (log shippers keep their
-- positions there), /opt/cni/bin and /etc/cni/net.d (every CNI plugin
-- installs itself there; /etc/cni is still covered by /etc), /run and
-- /var/run as a whole (CNI and CSI agents keep sockets under them; the runtime
-- sockets themselves are listed).  Add them in paths_local when they matter.

-- query("/api/v1/namespaces/x/pods/p/exec?command=sh&command=-c&command=id",
--       "command") -> {"sh", "-c", "id"}
-- The decoded values of one query parameter, in order (percent escapes
-- decoded, "+" read as a space, as the API server does).  An empty list when
-- the URI is not a string or lacks the parameter.  (The engine's own decoder,
-- the one behind ev.query(name), through the built-in urlquery module; this
-- one works on any URI string.)
function paths.query(uri, name)
  return urlquery.values(uri, name)
end

-- Paths that are never sensitive (from paths_local.exempt).
paths.exempt = {}

-- normalize("//var/./lib/../lib/kubelet/") -> "/var/lib/kubelet"
-- Relative paths are read from "/"; ".." above "/" stays at "/".
-- nil for anything but a non-empty string.
function paths.normalize(p)
  if type(p) ~= "string" or p == "" then return nil end
  -- already normal (the usual case): absolute, no "//", no "." or ".."
  -- segment, no trailing "/"
  if p:byte(1) == 47 and not p:find("//", 1, true) and not p:find("/.", 1, true)
      and (#p == 1 or p:byte(-1) ~= 47) then
    return p
  end
  local parts = {}
  for seg in p:gmatch("[^/]+") do
    if seg == ".." then
      if #parts > 0 then parts[#parts] = nil end
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return "/" .. table.concat(parts, "/")
end

-- Is the normalised path n equal to entry e or below it?  ("/" only equals.)
local SLASH = 47
local function covers(e, n)
  if n == e then return true end
  if e == "/" then return false end
  return #n > #e and n:byte(#e + 1) == SLASH and n:find(e, 1, true) == 1
end

-- A host directory that holds a sensitive path is sensitive too: mounting
-- /var exposes /var/lib/kubelet, /run exposes the container runtime socket.
local function holds(n, e)
  if n == "/" then return true end
  return #e > #n and e:byte(#n + 1) == SLASH and e:find(n, 1, true) == 1
end

function paths.is_sensitive(p)
  local n = paths.normalize(p)
  if n == nil then return false end
  for _, e in ipairs(paths.exempt) do
    if covers(e, n) then return false end
  end
  for _, e in ipairs(paths.sensitive) do
    if covers(e, n) or holds(n, e) then return true, e end
  end
  return false
end

-- Container runtime sockets, in their /run spelling (/var/run is a link to
-- /run on every current distribution, and a hostPath is resolved on the node,
-- so /var/run/X is judged as /run/X).  Whoever can connect() to one of them
-- starts containers on the node outside the API server, privileged ones
-- included.  A socket is sensitive even when mounted readOnly: a read-only
-- mount stops writes to the file system, not connections to a socket.
paths.runtime_sockets = {
  "/run/docker.sock",                        -- Docker Engine
  "/run/dockershim.sock",                    -- the kubelet's dockershim (< 1.24)
  "/run/cri-dockerd.sock",                   -- Mirantis cri-dockerd
  "/run/containerd/containerd.sock",         -- containerd
  "/run/crio/crio.sock",                     -- CRI-O
  "/run/podman/podman.sock",                 -- Podman's Docker-compatible API
  "/run/k3s/containerd/containerd.sock",     -- k3s and RKE2's containerd
  "/var/snap/microk8s/common/run/containerd.sock", -- MicroK8s
}
-- Directories that exist to hold a runtime's sockets (the main one and its
-- ttrpc, debug and shim sockets): mounting one exposes the socket inside.
paths.runtime_socket_dirs = {
  "/run/containerd", "/run/crio", "/run/podman", "/run/docker",
  "/run/k3s/containerd", "/var/snap/microk8s/common/run",
}

-- "/var/run/x" -> "/run/x" (n is normalised)
local function run_spelling(n)
  if n == "/var/run" then return "/run" end
  if n:sub(1, 9) == "/var/run/" then return n:sub(5) end
  return n
end

-- Rootless Docker and Podman keep their sockets in the user's runtime
-- directory: /run/user/<uid>/docker.sock, /run/user/<uid>/podman/podman.sock.
local function rootless(n)
  if n == "/run/user" or n:match("^/run/user/%d+$") then return "/run/user/<uid>" end
  if n:match("^/run/user/%d+/docker%.sock$") then return "/run/user/<uid>/docker.sock" end
  if n:match("^/run/user/%d+/podman$") or n:match("^/run/user/%d+/podman/") then
    return "/run/user/<uid>/podman/podman.sock"
  end
  return nil
end

-- paths.is_runtime_socket(p) -> true, entry | false
-- The host path is a runtime socket, inside a runtime's socket directory, or
-- a directory that holds one (/run, /var/run): whatever its readOnly says, the
-- container can reach the runtime.  "/" itself is left out: a read-only mount
-- of the node's root is how node-exporter and host scanners read the node, and
-- ContainerWithSensitiveMount counts write access only (GuardDuty's
-- definition); a writable "/" is reported anyway.
-- Windows nodes: the runtimes listen on named pipes, mounted as hostPath
-- \\.\pipe\docker_engine or \\.\pipe\containerd-containerd (also after
-- paths.normalize has put a "/" in front).
local PIPES = { ["docker_engine"] = true, ["containerd-containerd"] = true }

function paths.is_runtime_socket(p)
  if type(p) == "string" and p:find("\\", 1, true) then
    local pipe = p:lower():match("^/?[\\/][\\/][.?][\\/]pipe[\\/]([^\\/]+)$")
    if pipe and PIPES[pipe] then return true, "\\\\.\\pipe\\" .. pipe end
  end
  local n = paths.normalize(p)
  if n == nil or n == "/" then return false end
  for _, e in ipairs(paths.exempt) do
    if covers(e, n) then return false end
  end
  n = run_spelling(n)
  local top = n:match("^/[^/]*")
  if top ~= "/run" and top ~= "/var" then return false end -- every entry lies under these
  for _, list in ipairs({ paths.runtime_sockets, paths.runtime_socket_dirs }) do
    for _, e in ipairs(list) do
      if covers(e, n) or holds(n, e) then return true, e end
    end
  end
  local r = rootless(n)
  if r then return true, r end
  return false
end

-- paths.is_dry_run(request_uri) -> boolean
-- `kubectl ... --dry-run=server` sends ?dryRun=All: the API server runs
-- admission and validation and answers as for a real request, but persists
-- nothing.  It accepts no other value (dryRun=foo is a 400), so a request is a
-- dry run when it has the parameter and every value is "All".
function paths.is_dry_run(uri)
  if type(uri) ~= "string" or not uri:find("dryRun=", 1, true) then return false end -- the usual case
  local v = paths.query(uri, "dryRun")
  if #v == 0 then return false end
  for _, x in ipairs(v) do
    if x ~= "All" then return false end
  end
  return true
end

-- Merge lualib/paths_local.lua when there is one (see localmod.lua).
local extra = require("localmod").load("paths_local")

if extra ~= nil then
  if type(extra) ~= "table" then
    error("paths_local: must return a table {sensitive = {...}, exempt = {...}}, got a "
      .. type(extra), 0)
  end
  for key, entries in pairs(extra) do
    if key ~= "sensitive" and key ~= "exempt" then
      error(string.format("paths_local: unknown key %s (known: exempt, sensitive)", tostring(key)), 0)
    end
    if type(entries) ~= "table" then
      error(string.format("paths_local: %s must be a list of absolute paths", key), 0)
    end
    local list = paths[key]
    local seen = {}
    for _, e in ipairs(list) do seen[e] = true end
    for i, entry in ipairs(entries) do
      if type(entry) ~= "string" or entry:sub(1, 1) ~= "/" then
        error(string.format("paths_local: %s[%d]: %s is not an absolute path", key, i,
          type(entry) == "string" and string.format("%q", entry) or "a " .. type(entry)), 0)
      end
      local n = paths.normalize(entry)
      if not seen[n] then
        seen[n] = true
        list[#list + 1] = n
      end
    end
  end
end

return paths
