-- Issue 11 helpers of the workload and policy rules: runtime sockets and dry
-- runs (paths), mirror pods (workload), admin-equivalent rules, default
-- service-account groups and bootstrap bindings (rbac), internal load
-- balancers and private source ranges (dashboards), state keys (scope).
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local env = sandbox.new { modules = { paths_local = false } }
local paths, workload = env.require("paths"), env.require("workload")
local rbac, dashboards, scope = env.require("rbac"), env.require("dashboards"), env.require("scope")

-- ---- runtime sockets, whatever readOnly says ----
for _, p in ipairs({ "/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
    "/var/run/containerd", "/run/containerd/", "/var/run/crio/crio.sock", "/run/crio", "/var/run/cri-dockerd.sock",
    "/run/podman/podman.sock", "/var/run/podman", "/run/k3s/containerd/containerd.sock",
    "/var/snap/microk8s/common/run/containerd.sock", "/run", "/var/run", "/var/run/docker",
    "/run/user/1000/podman/podman.sock", "/run/user/1000/docker.sock", "/var/run/../run/docker.sock" }) do
  T.ok(paths.is_runtime_socket(p), "runtime socket: " .. p)
end
for _, p in ipairs({ "/", "/var/log", "/run/udev", "/run/systemd/journal", "/var/lib/kubelet", "/etc",
    "/run/user/1000/bus", "/var/run/secrets", "/run/containerd-extra", "/var/lib/docker/containers", "", 5 }) do
  T.ok(not paths.is_runtime_socket(p), "not a runtime socket: " .. tostring(p))
end

T.ok(paths.is_runtime_socket("\\\\.\\pipe\\docker_engine"), "Windows: docker's named pipe")
T.ok(paths.is_runtime_socket("\\\\.\\pipe\\containerd-containerd"), "Windows: containerd's named pipe")
T.ok(not paths.is_runtime_socket("\\\\.\\pipe\\csi-proxy-filesystem-v1"), "Windows: csi-proxy's pipe")

-- ---- dry runs ----
T.ok(paths.is_dry_run("/api/v1/namespaces/a/pods?dryRun=All&fieldManager=kubectl-run"), "dryRun=All")
T.ok(paths.is_dry_run("/apis/apps/v1/namespaces/a/deployments?fieldManager=x&dryRun=All"), "dryRun=All later in the query")
T.ok(not paths.is_dry_run("/api/v1/namespaces/a/pods?fieldManager=kubectl-run"), "no dryRun")
T.ok(not paths.is_dry_run("/api/v1/namespaces/a/pods?dryRun=&x=1"), "empty dryRun (the server refuses it)")
T.ok(not paths.is_dry_run("/api/v1/namespaces/a/pods?dryrun=All"), "parameter names are case-sensitive")
T.ok(not paths.is_dry_run(nil), "nil URI")

-- ---- mirror pods ----
local mirror = { metadata = { annotations = { ["kubernetes.io/config.mirror"] = "9d5b1a0f" } }, spec = { containers = {} } }
local function pod_ev(user, body, uri)
  return sandbox.event { verb = "create", resource = "pods", namespace = "kube-system", name = "etcd-cp-1",
    username = user, body = body, request_uri = uri or "/api/v1/namespaces/kube-system/pods" }
end
T.is(workload.ignored(pod_ev("system:node:cp-1", mirror)), "mirror pod", "a kubelet's mirror pod is ignored")
T.is(workload.ignored(pod_ev("kubernetes-admin", mirror)), nil, "the annotation from a person is not enough")
T.is(workload.ignored(pod_ev("system:node:cp-1", { metadata = {} })), nil, "a kubelet's pod without the annotation")
T.is(workload.ignored(pod_ev("kubernetes-admin", { metadata = {} }, "/api/v1/namespaces/kube-system/pods?dryRun=All")),
  "dry run", "a dry run is ignored")

-- ---- admin-equivalent rules ----
T.ok(rbac.is_admin_rules({ { apiGroups = { "*" }, resources = { "*" }, verbs = { "*" } } }), "* * *")
T.ok(rbac.is_admin_rules({ { apiGroups = { "" }, resources = { "*" }, verbs = { "*" } } }), "every core resource")
T.ok(not rbac.is_admin_rules({ { apiGroups = { "apps" }, resources = { "*" }, verbs = { "*" } } }), "apps only")
T.ok(not rbac.is_admin_rules({ { apiGroups = { "*" }, resources = { "*" }, verbs = { "get", "list" } } }), "read only")
T.ok(not rbac.is_admin_rules({ { apiGroups = { "*" }, resources = { "*" }, verbs = { "*" }, resourceNames = { "x" } } }),
  "limited by resourceNames")
T.ok(not rbac.is_admin_rules({ { nonResourceURLs = { "*" }, verbs = { "*" } } }), "non-resource URLs only")
T.ok(not rbac.is_admin_rules("junk"), "junk rules")

-- ---- default service account, also as a group ----
T.ok(rbac.is_default_sa({ kind = "Group", name = "system:serviceaccounts" }), "all service accounts")
T.ok(rbac.is_default_sa({ kind = "Group", name = "system:serviceaccounts:ml" }), "one namespace's service accounts")
T.ok(not rbac.is_default_sa({ kind = "Group", name = "system:serviceaccounts:ml:x" }), "not a group name")
T.ok(not rbac.is_default_sa({ kind = "User", name = "system:serviceaccounts" }), "a User of that name")

-- ---- bootstrap ----
local function crb_ev(user, name)
  return sandbox.event { verb = "create", resource = "clusterrolebindings", name = name, username = user,
    body = { metadata = { name = name } } }
end
T.ok(rbac.is_bootstrap(crb_ev("system:apiserver", "system:public-info-viewer"), { metadata = { name = "system:public-info-viewer" } }),
  "the API server's own system: binding")
T.ok(not rbac.is_bootstrap(crb_ev("kubernetes-admin", "system:x"), { metadata = { name = "system:x" } }), "a person")
T.ok(not rbac.is_bootstrap(crb_ev("system:apiserver", "anon"), { metadata = { name = "anon" } }), "not system:")

-- ---- private source ranges ----
for _, c in ipairs({ "10.0.0.0/8", "10.1.2.3", "172.16.0.0/12", "172.31.255.0/24", "192.168.0.0/16", "100.64.0.0/10",
    "127.0.0.1/32", "169.254.0.0/16", "fd00::/8", "fc00::/7", "fe80::/10", "::1/128", "::ffff:10.0.0.0/104",
    " 192.168.1.0/24 " }) do
  T.ok(dashboards.is_private_cidr(c), "private: " .. c)
end
for _, c in ipairs({ "0.0.0.0/0", "8.0.0.0/8", "81.2.69.160/32", "172.32.0.0/16", "172.0.0.0/8", "10.0.0.0/7",
    "::/0", "2001:db8::/16", "2a02:c207::/32", "::ffff:8.8.8.8/128", "10.0.0.0/33", "not-a-cidr", "" }) do
  T.ok(not dashboards.is_private_cidr(c), "not private: " .. c)
end

-- ---- internal load balancers ----
local function lb(ann, extra)
  local s = { metadata = { annotations = ann }, spec = { type = "LoadBalancer" } }
  for k, v in pairs(extra or {}) do s.spec[k] = v end
  return s
end
T.ok(dashboards.internet_facing(lb(nil)), "a plain LoadBalancer faces the internet")
for what, body in pairs({
  ["AWS scheme internal"] = lb({ ["service.beta.kubernetes.io/aws-load-balancer-scheme"] = "internal" }),
  ["AWS legacy internal"] = lb({ ["service.beta.kubernetes.io/aws-load-balancer-internal"] = "true" }),
  ["AWS legacy internal CIDR"] = lb({ ["service.beta.kubernetes.io/aws-load-balancer-internal"] = "0.0.0.0/0" }),
  ["LBC NLB without scheme"] = lb({ ["service.beta.kubernetes.io/aws-load-balancer-type"] = "external" }),
  ["LBC class without scheme"] = lb(nil, { loadBalancerClass = "service.k8s.aws/nlb" }),
  ["GKE Internal"] = lb({ ["networking.gke.io/load-balancer-type"] = "Internal" }),
  ["GKE legacy internal"] = lb({ ["cloud.google.com/load-balancer-type"] = "internal" }),
  ["Azure internal"] = lb({ ["service.beta.kubernetes.io/azure-load-balancer-internal"] = "true" }),
  ["private source ranges"] = lb(nil, { loadBalancerSourceRanges = { "10.0.0.0/8", "192.168.0.0/16" } }),
  ["private ranges annotation"] = lb({ ["service.beta.kubernetes.io/load-balancer-source-ranges"] = "10.0.0.0/8,fd00::/8" }),
  ["ClusterIP"] = { spec = { type = "ClusterIP" } },
  ["private loadBalancerIP"] = lb(nil, { loadBalancerIP = "10.20.30.40" }),
  ["MetalLB private addresses"] = lb({ ["metallb.universe.tf/loadBalancerIPs"] = "192.168.10.5,fd00::5" }),
}) do
  T.ok(not dashboards.internet_facing(body), "not internet-facing: " .. what)
end
for what, body in pairs({
  ["LBC internet-facing"] = lb({ ["service.beta.kubernetes.io/aws-load-balancer-type"] = "external",
    ["service.beta.kubernetes.io/aws-load-balancer-scheme"] = "internet-facing" }),
  ["AWS internal false"] = lb({ ["service.beta.kubernetes.io/aws-load-balancer-internal"] = "false" }),
  ["Azure internal false"] = lb({ ["service.beta.kubernetes.io/azure-load-balancer-internal"] = "false" }),
  ["one public range"] = lb(nil, { loadBalancerSourceRanges = { "10.0.0.0/8", "81.2.69.160/32" } }),
  ["junk range"] = lb(nil, { loadBalancerSourceRanges = { "10.0.0.0/8", "office" } }),
  ["public loadBalancerIP"] = lb(nil, { loadBalancerIP = "81.2.69.161" }),
  ["MetalLB with one public address"] = lb({ ["metallb.io/loadBalancerIPs"] = "10.0.0.5, 81.2.69.162" }),
}) do
  T.ok(dashboards.internet_facing(body), "internet-facing: " .. what)
end

-- ---- Dashboard v7 ----
local kong = { metadata = { name = "kubernetes-dashboard-kong-proxy", namespace = "kubernetes-dashboard",
  labels = { ["app.kubernetes.io/name"] = "kong", ["app.kubernetes.io/instance"] = "kubernetes-dashboard" } },
  spec = { type = "LoadBalancer" } }
T.ok(dashboards.exposed(dashboards.KUBERNETES, kong), "v7 Kong proxy as LoadBalancer")
local scraper = { metadata = { name = "kubernetes-dashboard-metrics-scraper", labels = {
  ["app.kubernetes.io/part-of"] = "kubernetes-dashboard", ["app.kubernetes.io/component"] = "metrics-scraper" } },
  spec = { type = "LoadBalancer" } }
T.is(dashboards.exposed(dashboards.KUBERNETES, scraper), nil, "the metrics scraper serves no UI")
local other = { metadata = { name = "edge-kong-proxy", namespace = "kong",
  labels = { ["app.kubernetes.io/name"] = "kong", ["app.kubernetes.io/instance"] = "edge" } }, spec = { type = "LoadBalancer" } }
T.is(dashboards.exposed(dashboards.KUBERNETES, other), nil, "another product's Kong proxy")

-- ---- scope keys ----
T.is(scope.key({}, "nginx:1.25"), "nginx:1.25", "one part: the part itself (old privileged_images keys)")
T.is(scope.key({}, "Role", nil, "x"), "Role\t\tx", "parts joined by tabs, nil as empty")

T.done()
