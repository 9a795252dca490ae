-- lualib/rbac.lua and lualib/dashboards.lua on binding and Service bodies,
-- as plain tables and as engine-like views.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local env = sandbox.new { modules = { paths_local = false } }
local rbac = env.require("rbac")
local dashboards = env.require("dashboards")

local function both(t, check)
  check(t, "table")
  check(sandbox.view(t), "view")
end

local function crb(role, subjects, name)
  return {
    apiVersion = "rbac.authorization.k8s.io/v1", kind = "ClusterRoleBinding",
    metadata = { name = name or "b" },
    roleRef = { apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = role },
    subjects = subjects,
  }
end

-- ---- roleRef ----
both(crb("cluster-admin", {}), function(b, how)
  local kind, name = rbac.role_ref(b)
  T.is(kind .. "/" .. name, "ClusterRole/cluster-admin", how .. ": role_ref")
  T.is(rbac.admin_role(b, "clusterrolebindings"), "cluster-admin", how .. ": cluster-admin is an admin role")
end)
T.is(rbac.admin_role(crb("admin", {}), "rolebindings"), "admin", "admin is an admin role")
T.is(rbac.admin_role(crb("edit", {}), "rolebindings"), nil, "edit is not")
T.is(rbac.admin_role(crb("view", {}), "clusterrolebindings"), nil, "view is not")
T.is(rbac.admin_role(crb("Cluster-Admin", {}), "clusterrolebindings"), nil, "names are case-sensitive")
-- a subjects-only patch
T.is(rbac.admin_role({ subjects = {} }, "clusterrolebindings", "cluster-admin"), "cluster-admin",
  "patch of the built-in cluster-admin binding (name from the URI): role is cluster-admin")
T.is(rbac.admin_role({ metadata = { name = "cluster-admin" }, subjects = {} }, "clusterrolebindings"),
  "cluster-admin", "patch of the built-in cluster-admin binding (name in the body)")
T.is(rbac.admin_role({ subjects = {} }, "rolebindings", "cluster-admin"), nil,
  "a RoleBinding named cluster-admin says nothing about its role")
T.is(rbac.admin_role({ subjects = {} }, "clusterrolebindings", "other"), nil, "other bindings: role unknown")
T.is(rbac.admin_role({ roleRef = { name = "view" } }, "clusterrolebindings", "cluster-admin"), nil,
  "an explicit roleRef wins over the name")
T.is(rbac.admin_role({ roleRef = { name = 5 } }, "clusterrolebindings", "cluster-admin"), nil,
  "a roleRef with a junk name is not inferred from the binding name")

-- ---- default service account ----
local sa_yes = {
  { { kind = "ServiceAccount", name = "default", namespace = "kube-system" }, "ServiceAccount kube-system/default" },
  { { kind = "ServiceAccount", name = "default" }, "ServiceAccount team-a/default" }, -- ns from the binding
  { { kind = "User", name = "system:serviceaccount:prod:default", apiGroup = "rbac.authorization.k8s.io" },
    "User system:serviceaccount:prod:default" },
}
local sa_no = {
  { kind = "ServiceAccount", name = "builder", namespace = "default" },
  { kind = "User", name = "default" },
  { kind = "Group", name = "default" },
  { kind = "User", name = "system:serviceaccount:prod:defaults" },
  { kind = "User", name = "system:serviceaccount::default" },
  { kind = "User", name = "system:serviceaccount:a:b:default" },
  { kind = "serviceaccount", name = "default" },
  { kind = "ServiceAccount", name = { "default" } },
  { name = "default" },
  "ServiceAccount default",
  5,
}
for i, c in ipairs(sa_yes) do
  both(c[1], function(s, how)
    local yes, what = rbac.is_default_sa(s, "team-a")
    T.ok(yes, how .. ": default SA form #" .. i)
    T.is(what, c[2], how .. ": description #" .. i)
  end)
end
for i, s in ipairs(sa_no) do
  T.ok(not rbac.is_default_sa(s, "x"), "not the default SA #" .. i)
  T.ok(not rbac.is_default_sa(sandbox.view(s), "x"), "not the default SA #" .. i .. " (view)")
end

-- ---- anonymous ----
T.ok(rbac.is_anonymous({ kind = "User", name = "system:anonymous" }), "User system:anonymous")
T.ok(rbac.is_anonymous(sandbox.view({ kind = "Group", name = "system:unauthenticated" })), "Group system:unauthenticated")
T.ok(not rbac.is_anonymous({ kind = "Group", name = "system:anonymous" }), "Group system:anonymous is not it")
T.ok(not rbac.is_anonymous({ kind = "User", name = "system:unauthenticated" }), "User system:unauthenticated is not it")
T.ok(not rbac.is_anonymous({ kind = "Group", name = "system:authenticated" }), "system:authenticated is not it")
T.ok(not rbac.is_anonymous(nil), "nil subject")

local mixed = crb("view", {
  { kind = "User", name = "alice" },
  { kind = "Group", name = "system:unauthenticated" },
  "junk", 7,
  { kind = "User", name = "system:anonymous" },
  { kind = "ServiceAccount", name = "default", namespace = "ns1" },
})
both(mixed, function(b, how)
  T.same_list(rbac.anonymous_subjects(b), { "Group system:unauthenticated", "User system:anonymous" },
    how .. ": anonymous_subjects")
  T.same_list(rbac.default_sa_subjects(b), { "ServiceAccount ns1/default" }, how .. ": default_sa_subjects")
  T.is(rbac.describe_binding(b, "clusterrolebindings", "ignored"), 'ClusterRoleBinding "b"',
    how .. ": describe a cluster binding")
  T.is(rbac.describe_role(b, "view"), "ClusterRole view", how .. ": describe the role")
end)
T.is(rbac.describe_binding({ metadata = { name = "rb", namespace = "dev" } }, "rolebindings"),
  'RoleBinding "dev/rb"', "describe a RoleBinding")
T.is(rbac.describe_binding({}, "rolebindings", "dev", "rb"), 'RoleBinding "dev/rb"',
  "describe a RoleBinding from the URI's namespace and name")
T.is(rbac.describe_binding(nil, "clusterrolebindings"), "ClusterRoleBinding", "describe without a name")

for i, junk in ipairs({ "x", 5, true, {}, { subjects = "x" }, { subjects = { 1, 2 } }, { roleRef = "cluster-admin" },
  { roleRef = { name = {} } }, { subjects = { { kind = {}, name = {} } } }, { metadata = 5 } }) do
  for _, b in ipairs({ junk, sandbox.view(junk) }) do
    T.lives(function()
      rbac.role_ref(b); rbac.admin_role(b, "clusterrolebindings", "cluster-admin"); rbac.subjects(b)
      rbac.default_sa_subjects(b, "x"); rbac.anonymous_subjects(b)
      rbac.describe_binding(b, "rolebindings", 5, {}); rbac.describe_role(b, "x")
    end, "rbac helpers live on junk binding #" .. i)
  end
end
T.lives(function() rbac.admin_role(nil, nil, nil); rbac.anonymous_subjects(nil) end, "rbac helpers live on nil")
T.is(#rbac.writes(), 6, "rbac.writes(): 6 entries")

-- ---- dashboards ----
local function svc(name, typ, labels, selector, ns)
  return {
    apiVersion = "v1", kind = "Service",
    metadata = { name = name, namespace = ns or "kubernetes-dashboard", labels = labels },
    spec = { type = typ, selector = selector, ports = { { port = 443, targetPort = 8443 } } },
  }
end

local K, KF = dashboards.KUBERNETES, dashboards.KUBEFLOW
local dcases = {
  { K, svc("kubernetes-dashboard", "LoadBalancer"), nil, true, "by name" },
  { K, svc("kubernetes-dashboard", "ClusterIP"), nil, false, "ClusterIP is not exposed" },
  { K, svc("kubernetes-dashboard", "NodePort"), nil, false, "NodePort is not LoadBalancer" },
  { K, svc("kubernetes-dashboard"), nil, false, "no type (ClusterIP by default)" },
  { K, svc("web", "LoadBalancer", { ["k8s-app"] = "kubernetes-dashboard" }), nil, true, "by label k8s-app" },
  { K, svc("web", "LoadBalancer", { ["app.kubernetes.io/name"] = "kubernetes-dashboard" }), nil, true,
    "by label app.kubernetes.io/name" },
  { K, svc("web", "LoadBalancer", nil, { ["k8s-app"] = "kubernetes-dashboard" }), nil, true, "by selector" },
  { K, svc("web", "LoadBalancer", { app = "web" }, { app = "web" }), nil, false, "another service" },
  { K, svc("centraldashboard", "LoadBalancer"), nil, false, "Kubeflow's is not the Kubernetes dashboard" },
  { K, { spec = { type = "LoadBalancer" } }, "kubernetes-dashboard", true, "patch: name only in the URI" },
  { K, { spec = { type = "LoadBalancer" } }, "web", false, "patch of another service" },
  { K, { metadata = { labels = { ["k8s-app"] = "kubernetes-dashboard" } } }, "kubernetes-dashboard", false,
    "patch without spec.type" },
  { KF, svc("centraldashboard", "LoadBalancer", nil, nil, "kubeflow"), nil, true, "Kubeflow by name" },
  { KF, svc("ui", "LoadBalancer", { app = "centraldashboard" }), nil, true, "Kubeflow by label app" },
  { KF, svc("ui", "LoadBalancer", { ["app.kubernetes.io/name"] = "centraldashboard" }), nil, true,
    "Kubeflow by label app.kubernetes.io/name" },
  { KF, svc("ui", "LoadBalancer", nil, { app = "centraldashboard" }), nil, true, "Kubeflow by selector" },
  { KF, svc("centraldashboard", "ClusterIP"), nil, false, "Kubeflow ClusterIP" },
  { KF, svc("kubernetes-dashboard", "LoadBalancer"), nil, false, "not Kubeflow" },
  { KF, { spec = { type = "LoadBalancer" } }, "centraldashboard", true, "Kubeflow patch with the URI name" },
}
for _, c in ipairs(dcases) do
  both(c[2], function(b, how)
    local d = dashboards.exposed(c[1], b, c[3], "ns-from-uri")
    T.is(d ~= nil, c[4], how .. ": " .. c[1].label .. ": " .. c[5])
  end)
end
T.is(dashboards.exposed(K, svc("kubernetes-dashboard", "LoadBalancer")),
  'Service "kubernetes-dashboard/kubernetes-dashboard" (name "kubernetes-dashboard") is of type LoadBalancer facing the internet; '
    .. "it serves the Kubernetes Dashboard", "detail names the Service and the reason")
T.is(dashboards.exposed(KF, { spec = { type = "LoadBalancer" } }, "centraldashboard", "kubeflow"),
  'Service "kubeflow/centraldashboard" (name "centraldashboard") is of type LoadBalancer facing the internet; '
    .. "it serves the Kubeflow central dashboard", "patch detail uses the URI's name and namespace")
T.ok(dashboards.is_kubernetes_dashboard(svc("kubernetes-dashboard")), "is_kubernetes_dashboard")
T.ok(dashboards.is_kubeflow_dashboard(nil, "centraldashboard"), "is_kubeflow_dashboard by name only")
T.ok(not dashboards.is_kubeflow_dashboard(nil, nil), "no body, no name")

for i, junk in ipairs({ "x", 5, true, {}, { spec = "LoadBalancer" }, { spec = { type = 5 } },
  { metadata = { labels = "k8s-app=kubernetes-dashboard" }, spec = { type = "LoadBalancer" } },
  { metadata = { labels = { 1, 2 }, name = {} }, spec = { type = "LoadBalancer", selector = { "x" } } } }) do
  for _, b in ipairs({ junk, sandbox.view(junk) }) do
    T.lives(function()
      T.is(dashboards.exposed(K, b, {}, 5), nil, "junk service #" .. i .. " is not an exposed dashboard")
      dashboards.exposed(KF, b, nil, nil)
    end, "dashboards live on junk service #" .. i)
  end
end

T.done()
