-- rules.d/: the 7 workload and policy rule files (contract part 2), loaded in
-- the rule sandbox with real state tables, their predicates run on the
-- engine's events built from realistic bodies, and on junk.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local MODULES = { catalog_local = false, paths_local = false }

local WRITES = {
  "create pods", "update pods", "patch pods",
  "create deployments", "update deployments", "patch deployments",
  "create daemonsets", "update daemonsets", "patch daemonsets",
  "create statefulsets", "update statefulsets", "patch statefulsets",
  "create replicasets", "update replicasets", "patch replicasets",
  "create jobs", "update jobs", "patch jobs",
  "create cronjobs", "update cronjobs", "patch cronjobs",
  "create replicationcontrollers", "update replicationcontrollers", "patch replicationcontrollers",
  "update pods/ephemeralcontainers", "patch pods/ephemeralcontainers",
}
local BINDINGS = {
  "create rolebindings", "update rolebindings", "patch rolebindings",
  "create clusterrolebindings", "update clusterrolebindings", "patch clusterrolebindings",
}
local SERVICES = { "create services", "update services", "patch services" }
-- the RBAC memory follows writes and deletes of roles and bindings
local RBAC_MEMORY = {}
for _, r in ipairs({ "roles", "clusterroles", "rolebindings", "clusterrolebindings" }) do
  for _, v in ipairs({ "create", "update", "patch", "delete" }) do RBAC_MEMORY[#RBAC_MEMORY + 1] = v .. " " .. r end
end
-- Service writes are judged; the rest shows that the cluster runs Kubeflow
local KUBEFLOW = { "create services", "update services", "patch services", "get services",
  "create deployments", "update deployments", "patch deployments", "get deployments",
  "create profiles", "update profiles", "patch profiles" }

local RULES = {
  { file = "execution_exec_in_kube_system_pod", type = "Execution:Kubernetes/ExecInKubeSystemPod",
    severity = "Medium", details = "workload",
    match = { api = { "create pods/exec", "get pods/exec", "create nodes/proxy", "get nodes/proxy" },
              success = true },
    match_keys = "api,success" },
  { file = "persistence_container_with_sensitive_mount", type = "Persistence:Kubernetes/ContainerWithSensitiveMount",
    severity = "Medium", details = "workload", match_keys = "api,body,host_path,success",
    match = { api = WRITES, success = true, body = true, host_path = true } },
  { file = "privilege_escalation_privileged_container", type = "PrivilegeEscalation:Kubernetes/PrivilegedContainer",
    severity = "Medium", details = "workload", match_keys = "api,body,privileged,success",
    match = { api = WRITES, success = true, body = true, privileged = true } },
  { file = "policy_admin_access_to_default_service_account",
    type = "Policy:Kubernetes/AdminAccessToDefaultServiceAccount",
    severity = "High", details = "rolebinding", match = { api = RBAC_MEMORY, success = true },
    match_keys = "api,success" },
  { file = "policy_anonymous_access_granted", type = "Policy:Kubernetes/AnonymousAccessGranted",
    severity = "High", details = "rolebinding", match = { api = BINDINGS, success = true, body = true } },
  { file = "policy_exposed_dashboard", type = "Policy:Kubernetes/ExposedDashboard",
    severity = "Medium", match = { api = SERVICES, success = true, body = true } },
  { file = "policy_kubeflow_dashboard_exposed", type = "Policy:Kubernetes/KubeflowDashboardExposed",
    severity = "Medium", match = { api = KUBEFLOW, success = true }, match_keys = "api,success" },
}

local function sorted(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = v end
  table.sort(out)
  return out
end

-- Loads a rule file; `tables` names its state tables (shared on purpose
-- between loads to imitate a reload).
local function load(file, tables)
  local okr, rule = sandbox.run_file("rules.d/" .. file .. ".lua", { modules = MODULES, tables = tables })
  if not okr then return nil, rule end
  return rule
end

local loaded = {}
for _, r in ipairs(RULES) do
  local path = "rules.d/" .. r.file .. ".lua"
  local rule, err = load(r.file, {})
  if T.ok(type(rule) == "table", path .. ": loads in the sandbox and returns a table", err) then
    loaded[r.file] = rule
    local keys = "description,match,predicate,remediation,severity,title,type"
    if r.details then keys = "description,details,match,predicate,remediation,severity,title,type" end
    T.is(T.keys(rule), keys, path .. ": exactly the rule keys")
    T.is(rule.type, r.type, path .. ": type")
    T.is(rule.severity, r.severity, path .. ": seed severity")
    T.is(rule.details, r.details, path .. ": details")
    for _, k in ipairs({ "title", "description", "remediation" }) do
      T.ok(type(rule[k]) == "string" and rule[k]:find("%S") ~= nil, path .. ": non-empty " .. k)
    end
    T.ok(not rule.title:find("[\r\n]"), path .. ": one-line title")
    T.ok(#rule.title <= 100, path .. ": title is short (" .. #rule.title .. " chars)")
    T.ok(not (rule.title .. rule.description .. rule.remediation):find("GuardDuty", 1, true),
      path .. ": texts do not mention GuardDuty")
    T.contains(rule.remediation, "kubectl", path .. ": remediation gives a kubectl command")
    T.is(type(rule.predicate), "function", path .. ": has a predicate")
    local m = rule.match
    T.is(T.keys(m), r.match_keys or "api,body,success", path .. ": match keys")
    T.same_list(sorted(m.api), sorted(r.match.api), path .. ": match.api")
    T.is(m.success, true, path .. ": only successful requests")
    if r.match.body then T.is(m.body, true, path .. ": match.body") end
    if r.match.namespaces then T.same_list(m.namespaces, r.match.namespaces, path .. ": namespaces") end
    local catalog = sandbox.new { modules = MODULES }.require("catalog")
    for _, e in ipairs(m.api) do T.ok(catalog.parse(e) ~= nil, path .. ": api entry parses: " .. e) end
  end
  local fh = io.open(path, "r")
  local text = fh and fh:read("a") or ""
  if fh then fh:close() end
  T.is(text:match("^([^\n]*)"), "-- " .. r.type, path .. ": first line names the type")
end

-- All rule files together: distinct types.
local p = io.popen("ls rules.d/*.lua")
local all = {}
for f in p:lines() do all[#all + 1] = f end
p:close()
local types, n = {}, 0
for _, f in ipairs(all) do
  local okr, rule = sandbox.run_file(f, { modules = MODULES, tables = {} })
  if okr and type(rule) == "table" and type(rule.type) == "string" then
    T.ok(not types[rule.type], f .. ": type not used by another file")
    types[rule.type] = true
    n = n + 1
  else
    T.ok(false, f .. ": loads", tostring(rule))
  end
end
T.is(n, #all, "every rule file in rules.d loads")
T.ok(#all >= 27, "at least the 27 rule files (" .. #all .. ")")

-- ---- predicate checks ----

local function fire(rule, fields)
  return rule.predicate(sandbox.event(fields))
end

-- The result is nil/false, or a table with a detail string (and no other
-- keys).  Returns the detail or nil; a test fails when the shape is wrong.
local function check(rule, fields, want, name)
  local okc, res = pcall(fire, rule, fields)
  if not okc then
    T.ok(false, name, "raised: " .. tostring(res))
    return nil
  end
  if not want then
    T.ok(not res, name, "fired: " .. (type(res) == "table" and tostring(res.detail) or tostring(res)))
    return nil
  end
  if not T.ok(type(res) == "table" and type(res.detail) == "string" and T.keys(res) == "detail", name,
      "result: " .. tostring(res)) then
    return nil
  end
  return res.detail
end

local function container(name, image, extra)
  local c = { name = name, image = image, imagePullPolicy = "IfNotPresent", resources = {},
    terminationMessagePath = "/dev/termination-log" }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

local function pod(spec, name, ns)
  return { apiVersion = "v1", kind = "Pod", metadata = { name = name or "p", namespace = ns or "default",
    labels = { app = "x" } }, spec = spec, status = {} }
end

local function deployment(spec, name)
  return { apiVersion = "apps/v1", kind = "Deployment", metadata = { name = name or "d", namespace = "default" },
    spec = { replicas = 2, selector = { matchLabels = { app = "x" } },
      template = { metadata = { labels = { app = "x" } }, spec = spec } } }
end

local function cronjob(spec, name)
  return { apiVersion = "batch/v1", kind = "CronJob", metadata = { name = name or "c", namespace = "default" },
    spec = { schedule = "*/5 * * * *", jobTemplate = { spec = { template = { spec = spec } } } } }
end

local JUNK = {
  5, "body", true, {}, { 1, 2, 3 }, { spec = "x" }, { spec = { containers = "x" } },
  { spec = { template = 5 } }, { spec = { template = { spec = { containers = { 1, "a", { securityContext = 5 } } } } } },
  { spec = { jobTemplate = { spec = { template = { spec = { volumes = { 1 }, containers = { { volumeMounts = { 1 } } } } } } } } },
  { roleRef = 5, subjects = "x" }, { roleRef = { name = {} }, subjects = { 1, { kind = 5 } } },
  { metadata = "x", spec = { type = {} } }, { metadata = { labels = 5 }, spec = { selector = "x", type = "LoadBalancer" } },
  { spec = { containers = { sandbox.NULL, { name = sandbox.NULL, image = 7, securityContext = { privileged = "yes" } } } } },
}
local JUNK_RESOURCES = { "pods", "deployments", "cronjobs", "daemonsets", "rolebindings", "clusterrolebindings",
  "services", "pods" }

-- Every predicate, on every junk body and on no body at all: no error, and
-- no finding (except the exec rule, which always fires).
for _, r in ipairs(RULES) do
  local rule = loaded[r.file]
  if rule then
    local always = r.file == "execution_exec_in_kube_system_pod"
    local nj = 0
    for i = 1, #JUNK + 1 do
      for _, res in ipairs(JUNK_RESOURCES) do
        local fields = { verb = "patch", resource = res, namespace = "ns", name = "n", body = JUNK[i],
          request_uri = "/x" }
        local okc, out = pcall(fire, rule, fields)
        if not okc then
          T.ok(false, r.file .. ": junk body #" .. i .. " as " .. res, "raised: " .. tostring(out))
        elseif (not always) and out then
          T.ok(false, r.file .. ": junk body #" .. i .. " as " .. res .. " does not fire", tostring(out.detail))
        else
          nj = nj + 1
        end
      end
    end
    T.is(nj, (#JUNK + 1) * #JUNK_RESOURCES, r.file .. ": junk bodies never raise and never fire")
  end
end

-- ---- Execution:Kubernetes/ExecInKubeSystemPod ----
do
  local rule = loaded.execution_exec_in_kube_system_pod
  local uri = "/api/v1/namespaces/kube-system/pods/coredns-5d78c9869d-abcde/exec?command=sh&command=-c"
    .. "&command=cat+%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&container=coredns"
    .. "&stdin=true&stdout=true&tty=true"
  local fields = { verb = "create", resource = "pods", subresource = "exec", namespace = "kube-system",
    name = "coredns-5d78c9869d-abcde", request_uri = uri, stage = "ResponseStarted" }
  local d = check(rule, fields, true, "exec: fires with a detail")
  T.is(d, 'exec into pod kube-system/coredns-5d78c9869d-abcde (container "coredns"): sh -c '
    .. "cat /var/run/secrets/kubernetes.io/serviceaccount/token", "exec: detail names pod, container and command")
  -- an event without ev.query (plain table) falls back to the URI
  local res = rule.predicate({ name = "kube-proxy-x", resource = "pods", namespace = "kube-system",
    request_uri = "/api/v1/namespaces/kube-system/pods/kube-proxy-x/exec?command=id" })
  T.is(type(res) == "table" and res.detail, "exec into pod kube-system/kube-proxy-x: id", "exec: works without ev.query")
  res = rule.predicate(sandbox.event({ verb = "get", resource = "pods", subresource = "exec",
    namespace = "kube-system", name = "etcd-0", request_uri = "/api/v1/namespaces/kube-system/pods/etcd-0/exec" }))
  T.is(type(res) == "table" and res.detail, "exec into pod kube-system/etcd-0; the command is not in the request",
    "exec: no command in the URI still fires")
  -- newer API servers log the PodExecOptions as requestObject
  local opts = { kind = "PodExecOptions", apiVersion = "v1", stdin = true, tty = true, container = "etcd",
    command = { "etcdctl", "get", "/registry/secrets", "--prefix" } }
  res = rule.predicate(sandbox.event({ verb = "create", resource = "pods", subresource = "exec",
    namespace = "kube-system", name = "etcd-0", request_uri = "/api/v1/namespaces/kube-system/pods/etcd-0/exec",
    request_object = opts, body = opts }))
  T.is(type(res) == "table" and res.detail,
    'exec into pod kube-system/etcd-0 (container "etcd"): etcdctl get /registry/secrets --prefix',
    "exec: command and container from the PodExecOptions body")
  res = rule.predicate(sandbox.event({ verb = "create", resource = "pods", subresource = "exec",
    namespace = "kube-system", name = "etcd-0", request_uri = "/x", request_object = { command = "sh", container = 5 } }))
  T.is(type(res) == "table" and res.detail, "exec into pod kube-system/etcd-0; the command is not in the request",
    "exec: junk PodExecOptions")
  T.ok(not rule.predicate(setmetatable({}, { __index = function() error("boom") end })),
    "exec: an event whose fields all raise does not raise (and cannot name a kube-system pod)")
end

-- ---- Persistence:Kubernetes/ContainerWithSensitiveMount ----
do
  local rule = loaded.persistence_container_with_sensitive_mount
  local etc_spec = {
    containers = { container("nginx", "nginx:1.25", { volumeMounts = {
      { name = "etc", mountPath = "/host/etc" },
      { name = "kube-api-access-x", mountPath = "/var/run/secrets/kubernetes.io/serviceaccount", readOnly = true },
    } }) },
    volumes = {
      { name = "etc", hostPath = { path = "/etc", type = "" } },
      { name = "kube-api-access-x", projected = { sources = { { serviceAccountToken = { path = "token" } } } } },
    },
  }
  local d = check(rule, { verb = "create", resource = "pods", namespace = "default", body = pod(etc_spec) }, true,
    "mount: Pod with writable /etc fires")
  T.is(d, 'container "nginx" (image nginx:1.25) mounts host path /etc writable at /host/etc', "mount: detail")

  local kubelet_spec = {
    containers = { container("agent", "agent:2", { volumeMounts = { { name = "pods", mountPath = "/pods" } } }) },
    volumes = { { name = "pods", hostPath = { path = "/var/lib/kubelet/pods/", type = "Directory" } } },
  }
  d = check(rule, { verb = "create", resource = "deployments", namespace = "default",
    body = deployment(kubelet_spec) }, true, "mount: Deployment template with /var/lib/kubelet/pods fires")
  T.contains(d, "host path /var/lib/kubelet/pods writable at /pods", "mount: Deployment detail (normalised path)")

  local sock_spec = {
    containers = { container("builder", "docker:24", { volumeMounts = {
      { name = "sock", mountPath = "/var/run/docker.sock" } } }) },
    volumes = { { name = "sock", hostPath = { path = "/var/run/docker.sock", type = "Socket" } } },
    restartPolicy = "OnFailure",
  }
  d = check(rule, { verb = "create", resource = "cronjobs", namespace = "ci", body = cronjob(sock_spec) }, true,
    "mount: CronJob jobTemplate with the docker socket fires")
  T.contains(d, "/var/run/docker.sock", "mount: CronJob detail")

  local ro = {
    containers = { container("exporter", "node-exporter:1.7", { volumeMounts = {
      { name = "proc", mountPath = "/host/proc", readOnly = true },
      { name = "root", mountPath = "/host/root", readOnly = true } } }) },
    volumes = { { name = "proc", hostPath = { path = "/proc" } }, { name = "root", hostPath = { path = "/" } } },
  }
  check(rule, { verb = "create", resource = "daemonsets", namespace = "monitoring", body = {
    kind = "DaemonSet", spec = { template = { spec = ro } } } }, false, "mount: read-only mounts do not fire")

  local data = {
    containers = { container("db", "postgres:16", { volumeMounts = { { name = "data", mountPath = "/var/lib/pg" } } }) },
    volumes = { { name = "data", hostPath = { path = "/data/pg" } } },
  }
  check(rule, { verb = "create", resource = "statefulsets", body = { spec = { template = { spec = data } } } }, false,
    "mount: /data does not fire")
  local etcd = {
    containers = { container("x", "x", { volumeMounts = { { name = "v", mountPath = "/v" } } }) },
    volumes = { { name = "v", hostPath = { path = "/etcd" } } },
  }
  check(rule, { verb = "create", resource = "pods", body = pod(etcd) }, false, "mount: /etcd does not fire")

  -- kubectl debug: an ephemeral container mounting a sensitive volume
  local eph = pod({
    containers = { container("app", "app:1") },
    ephemeralContainers = { container("debugger-abc", "busybox:1.36", { volumeMounts = {
      { name = "host", mountPath = "/host" } } }) },
    volumes = { { name = "host", hostPath = { path = "/root/.ssh" } } },
  })
  d = check(rule, { verb = "patch", resource = "pods", subresource = "ephemeralcontainers", body = eph }, true,
    "mount: ephemeral container via pods/ephemeralcontainers fires")
  T.contains(d, 'ephemeral container "debugger-abc" (image busybox:1.36) mounts host path /root/.ssh', "mount: detail")

  -- a JSON patch that only adds a mount (the volume is not in the partial body)
  check(rule, { verb = "patch", resource = "deployments", body = { spec = { template = { spec = { containers = {
    { volumeMounts = { { name = "etc", mountPath = "/e" } } } } } } } } }, false,
    "mount: a mount of a volume not in the body is ignored")

  -- many mounts: the detail is bounded
  local many = { containers = {}, volumes = { { name = "etc", hostPath = { path = "/etc" } } } }
  for i = 1, 6 do
    many.containers[i] = container("c" .. i, "img", { volumeMounts = { { name = "etc", mountPath = "/e" } } })
  end
  d = check(rule, { verb = "create", resource = "pods", body = pod(many) }, true, "mount: six containers fire")
  T.contains(d, "and 3 more such mounts", "mount: detail lists three and counts the rest")

  check(rule, { verb = "create", resource = "pods", body = nil }, false, "mount: no body, no finding")
  check(rule, { verb = "create", resource = "services", body = pod(etc_spec) }, false,
    "mount: a body with no pod spec (ev.pod_spec nil) does not fire")
end

-- ---- PrivilegeEscalation:Kubernetes/PrivilegedContainer ----
do
  local tables = {}
  local rule = load("privilege_escalation_privileged_container", tables)
  local function priv_pod(images, extra)
    local cs = {}
    for i, img in ipairs(images) do
      cs[i] = container("c" .. i, img, { securityContext = { privileged = true } })
    end
    local spec = { containers = cs }
    for k, v in pairs(extra or {}) do spec[k] = v end
    return pod(spec)
  end
  T.ok(tables.privileged_images ~= nil, "privileged: the rule opens the state table privileged_images")
  local d = check(rule, { verb = "create", resource = "pods", body = priv_pod({ "evil/miner:1" }) }, true,
    "privileged: first image fires")
  T.is(d, 'privileged container "c1" (image evil/miner:1), image not seen privileged before', "privileged: detail")
  check(rule, { verb = "create", resource = "pods", body = priv_pod({ "evil/miner:1" }) }, false,
    "privileged: the same image again does not fire")
  check(rule, { verb = "create", resource = "deployments", body = deployment(priv_pod({ "evil/miner:1" }).spec) },
    false, "privileged: the same image in a Deployment does not fire")
  d = check(rule, { verb = "create", resource = "daemonsets", body = { spec = { template = {
    spec = priv_pod({ "evil/miner:1", "falco:0.37" }).spec } } } }, true, "privileged: a new image fires")
  T.contains(d, "falco:0.37", "privileged: detail names the new image")
  T.ok(not d:find("evil/miner", 1, true), "privileged: and not the known one")
  T.is(tables.privileged_images:size(), 2, "privileged: both images recorded")
  check(rule, { verb = "create", resource = "pods", body = priv_pod({ "falco:0.37" }) }, false,
    "privileged: second image now known")

  -- init and ephemeral containers count; unprivileged containers are not recorded
  d = check(rule, { verb = "create", resource = "cronjobs", body = cronjob({
    containers = { container("main", "alpine:3.19") },
    initContainers = { container("setup", "setup:1", { securityContext = { privileged = true } }) } }) }, true,
    "privileged: privileged init container in a CronJob fires")
  T.contains(d, 'init container "setup" (image setup:1)', "privileged: init container detail")
  T.ok(not tables.privileged_images:has("alpine:3.19"), "privileged: unprivileged images are not recorded")
  d = check(rule, { verb = "patch", resource = "pods", subresource = "ephemeralcontainers",
    body = pod({ containers = { container("app", "app:1") }, ephemeralContainers = {
      container("dbg", "netshoot:1", { securityContext = { privileged = true } }) } }) }, true,
    "privileged: privileged ephemeral container fires")

  -- several new images in one request: all recorded, one finding
  d = check(rule, { verb = "create", resource = "pods", body = priv_pod({ "a:1", "b:1", "a:1", "c:1", "d:1" }) },
    true, "privileged: four new images fire once")
  T.contains(d, "; and 1 more", "privileged: detail is bounded")
  for _, img in ipairs({ "a:1", "b:1", "c:1", "d:1" }) do
    T.ok(tables.privileged_images:has(img), "privileged: " .. img .. " recorded")
  end

  -- not privileged
  check(rule, { verb = "create", resource = "pods", body = pod({ containers = {
    container("x", "new:1", { securityContext = { privileged = false, capabilities = { add = { "NET_ADMIN" } } } }) } }) },
    false, "privileged: privileged=false does not fire")
  T.ok(not tables.privileged_images:has("new:1"), "privileged: nor records the image")

  -- a patch that sets privileged without naming the image fires every time
  local patch = { spec = { template = { spec = { containers = { { securityContext = { privileged = true } } } } } } }
  d = check(rule, { verb = "patch", resource = "deployments", name = "web", body = patch }, true,
    "privileged: patch without image fires")
  T.is(d, "privileged container containers[1] (image not in the request)", "privileged: patch detail")
  check(rule, { verb = "patch", resource = "deployments", name = "web", body = patch }, true,
    "privileged: and fires again (nothing to remember)")

  -- a reload (same state registry) keeps what was seen
  local again = load("privilege_escalation_privileged_container", tables)
  check(again, { verb = "create", resource = "pods", body = priv_pod({ "evil/miner:1" }) }, false,
    "privileged: after a reload the image is still known")
  -- a fresh state forgets
  local fresh = load("privilege_escalation_privileged_container", {})
  check(fresh, { verb = "create", resource = "pods", body = priv_pod({ "evil/miner:1" }) }, true,
    "privileged: with empty state the image is new again")
end

-- ---- Policy:Kubernetes/AdminAccessToDefaultServiceAccount ----
do
  local rule = loaded.policy_admin_access_to_default_service_account
  local function binding(kind, role_kind, role, subjects, name, ns)
    return { apiVersion = "rbac.authorization.k8s.io/v1", kind = kind,
      metadata = { name = name or "b", namespace = ns },
      roleRef = { apiGroup = "rbac.authorization.k8s.io", kind = role_kind, name = role }, subjects = subjects }
  end
  local d = check(rule, { verb = "create", resource = "clusterrolebindings",
    body = binding("ClusterRoleBinding", "ClusterRole", "cluster-admin",
      { { kind = "ServiceAccount", name = "default", namespace = "kube-system" } }, "default-admin") }, true,
    "admin: ClusterRoleBinding cluster-admin -> default SA fires")
  T.is(d, 'ClusterRoleBinding "default-admin" binds ClusterRole cluster-admin to ServiceAccount kube-system/default',
    "admin: detail")
  d = check(rule, { verb = "create", resource = "rolebindings", namespace = "team-a",
    body = binding("RoleBinding", "ClusterRole", "admin",
      { { kind = "User", name = "system:serviceaccount:team-a:default", apiGroup = "rbac.authorization.k8s.io" } },
      "ns-admin", "team-a") }, true, "admin: RoleBinding admin -> User system:serviceaccount:team-a:default fires")
  T.is(d, 'RoleBinding "team-a/ns-admin" binds ClusterRole admin to User system:serviceaccount:team-a:default',
    "admin: RoleBinding detail")
  check(rule, { verb = "create", resource = "clusterrolebindings", body = binding("ClusterRoleBinding", "ClusterRole",
    "view", { { kind = "ServiceAccount", name = "default", namespace = "default" } }) }, false,
    "admin: view -> default SA does not fire")
  check(rule, { verb = "create", resource = "clusterrolebindings", body = binding("ClusterRoleBinding", "ClusterRole",
    "cluster-admin", { { kind = "ServiceAccount", name = "argocd", namespace = "argocd" },
      { kind = "User", name = "minikube" } }) }, false, "admin: cluster-admin -> other subjects does not fire")
  -- strategic-merge patch of the built-in binding, roleRef absent
  d = check(rule, { verb = "patch", resource = "clusterrolebindings", name = "cluster-admin",
    body = { subjects = { { kind = "Group", name = "system:masters" },
      { kind = "ServiceAccount", name = "default", namespace = "default" } } } }, true,
    "admin: patch adding default SA to the built-in cluster-admin binding fires")
  T.contains(d, 'ClusterRoleBinding "cluster-admin" binds ClusterRole cluster-admin to ServiceAccount default/default',
    "admin: patch detail")
  check(rule, { verb = "patch", resource = "clusterrolebindings", name = "some-binding",
    body = { subjects = { { kind = "ServiceAccount", name = "default", namespace = "default" } } } }, false,
    "admin: patch of another binding without roleRef cannot be judged")
end

-- ---- Policy:Kubernetes/AnonymousAccessGranted ----
do
  local rule = loaded.policy_anonymous_access_granted
  local d = check(rule, { verb = "create", resource = "rolebindings", namespace = "default", body = {
    apiVersion = "rbac.authorization.k8s.io/v1", kind = "RoleBinding",
    metadata = { name = "open-pods", namespace = "default" },
    roleRef = { apiGroup = "rbac.authorization.k8s.io", kind = "Role", name = "pod-reader" },
    subjects = { { apiGroup = "rbac.authorization.k8s.io", kind = "Group", name = "system:unauthenticated" } } } },
    true, "anonymous: RoleBinding for system:unauthenticated fires")
  T.is(d, 'RoleBinding "default/open-pods" grants Group system:unauthenticated to Role pod-reader', "anonymous: detail")
  d = check(rule, { verb = "create", resource = "clusterrolebindings", body = {
    kind = "ClusterRoleBinding", metadata = { name = "anon-admin" },
    roleRef = { kind = "ClusterRole", name = "cluster-admin" },
    subjects = { { kind = "User", name = "alice" }, { kind = "User", name = "system:anonymous" } } } }, true,
    "anonymous: ClusterRoleBinding for system:anonymous fires")
  T.is(d, 'ClusterRoleBinding "anon-admin" grants User system:anonymous to ClusterRole cluster-admin',
    "anonymous: cluster detail")
  check(rule, { verb = "create", resource = "clusterrolebindings", body = {
    metadata = { name = "authn" }, roleRef = { kind = "ClusterRole", name = "view" },
    subjects = { { kind = "Group", name = "system:authenticated" } } } }, false,
    "anonymous: system:authenticated does not fire")
  d = check(rule, { verb = "patch", resource = "clusterrolebindings", name = "x",
    body = { subjects = { { kind = "User", name = "system:anonymous" } } } }, true,
    "anonymous: subjects-only patch fires")
  T.is(d, 'ClusterRoleBinding "x" grants User system:anonymous', "anonymous: patch detail without role")
end

-- ---- Policy:Kubernetes/ExposedDashboard and KubeflowDashboardExposed ----
do
  local k8s, kf = loaded.policy_exposed_dashboard, loaded.policy_kubeflow_dashboard_exposed
  local function svc(name, ns, typ, labels, selector)
    return { apiVersion = "v1", kind = "Service", metadata = { name = name, namespace = ns, labels = labels },
      spec = { type = typ, selector = selector, ports = { { port = 443, targetPort = 8443, protocol = "TCP" } } } }
  end
  local lb = svc("kubernetes-dashboard", "kubernetes-dashboard", "LoadBalancer",
    { ["k8s-app"] = "kubernetes-dashboard" }, { ["k8s-app"] = "kubernetes-dashboard" })
  local d = check(k8s, { verb = "create", resource = "services", namespace = "kubernetes-dashboard", body = lb },
    true, "dashboard: LoadBalancer fires")
  T.is(d, 'Service "kubernetes-dashboard/kubernetes-dashboard" (name "kubernetes-dashboard") is of type '
    .. "LoadBalancer facing the internet; it serves the Kubernetes Dashboard", "dashboard: detail")
  check(kf, { verb = "create", resource = "services", body = lb }, false, "dashboard: not Kubeflow's")
  check(k8s, { verb = "create", resource = "services", body = svc("kubernetes-dashboard", "kubernetes-dashboard",
    "ClusterIP", { ["k8s-app"] = "kubernetes-dashboard" }) }, false, "dashboard: ClusterIP does not fire")
  check(k8s, { verb = "update", resource = "services", body = svc("kd-web", "ops", "LoadBalancer", nil,
    { ["app.kubernetes.io/name"] = "kubernetes-dashboard" }) }, true, "dashboard: renamed service found by selector")
  d = check(k8s, { verb = "patch", resource = "services", namespace = "kubernetes-dashboard",
    name = "kubernetes-dashboard", body = { spec = { type = "LoadBalancer" } } }, true,
    "dashboard: patch with the name only in the URI fires")
  T.contains(d, 'Service "kubernetes-dashboard/kubernetes-dashboard"', "dashboard: patch detail")
  check(k8s, { verb = "patch", resource = "services", name = "kubernetes-dashboard",
    body = { spec = { type = "ClusterIP" } } }, false, "dashboard: patch back to ClusterIP does not fire")

  local central = svc("centraldashboard", "kubeflow", "LoadBalancer", { app = "centraldashboard" },
    { app = "centraldashboard" })
  d = check(kf, { verb = "create", resource = "services", namespace = "kubeflow", body = central }, true,
    "kubeflow: LoadBalancer fires")
  T.contains(d, "Kubeflow central dashboard", "kubeflow: detail")
  check(k8s, { verb = "create", resource = "services", body = central }, false, "kubeflow: not the Kubernetes one")
  check(kf, { verb = "create", resource = "services", body = svc("centraldashboard", "kubeflow", "ClusterIP",
    { app = "centraldashboard" }) }, false, "kubeflow: ClusterIP does not fire")
  check(kf, { verb = "patch", resource = "services", namespace = "kubeflow", name = "centraldashboard",
    body = { spec = { type = "LoadBalancer" } } }, true, "kubeflow: patch with the URI name fires")
end

-- ---- the harness's events are the engine's ----
do
  local ev = sandbox.event({ verb = "create", resource = "cronjobs", body = cronjob({ containers = {} }) })
  T.is(ev.workload_kind, "cronjobs", "event: workload_kind")
  T.ok(ev.pod_spec ~= nil and ev.pod_spec.containers ~= nil, "event: pod_spec of a CronJob")
  T.throws(function() return ev.nosuchfield end, "no field 'nosuchfield'", "event: unknown fields raise")
  T.is(sandbox.event({ resource = "services", body = {} }).pod_spec, nil, "event: no pod_spec for services")
end

T.done()
