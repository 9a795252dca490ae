-- dashboards.lua: recognising the Service in front of a cluster dashboard, and
-- whether it is exposed through a cloud load balancer.
--
-- A Service is taken to be a dashboard's when any of these holds:
--   - its name (metadata.name in the body, or the name from the request URI,
--     ev.name, which is all a patch may carry) is one of the dashboard's names;
--   - one of metadata.labels is one of the dashboard's label pairs;
--   - one of spec.selector's pairs is one of them (the Service sends its
--     traffic to the dashboard's pods, whatever the Service is called).
--
--     dashboards.KUBERNETES, dashboards.KUBEFLOW
--         {label = "...", names = {...}, labels = {{key, value}, ...}}
--         Kubernetes Dashboard: service kubernetes-dashboard, labels/selector
--         k8s-app=kubernetes-dashboard (recommended manifests) or
--         app.kubernetes.io/name=kubernetes-dashboard (Helm chart).
--         Kubeflow central dashboard: service centraldashboard, labels/selector
--         app=centraldashboard or app.kubernetes.io/name=centraldashboard.
--     dashboards.identify(which, body, name) -> reason string | nil
--         e.g. 'name "kubernetes-dashboard"', 'label k8s-app=kubernetes-dashboard',
--         'selector app=centraldashboard'
--     dashboards.is_load_balancer(body)     -> spec.type == "LoadBalancer"
--     dashboards.exposed(which, body, name[, namespace]) -> detail | nil
--         a sentence when the Service is of type LoadBalancer and is the
--         dashboard's (name and namespace: ev.name, ev.namespace)
--     dashboards.is_kubernetes_dashboard(body, name),
--     dashboards.is_kubeflow_dashboard(body, name) -> boolean
--
-- To recognise a renamed installation, add its names or label pairs to the
-- tables below (e.g. a Helm release that names the Service
-- "ops-kubernetes-dashboard").

local view = require("view")

local node, get, str, text = view.node, view.get, view.str, view.text

local dashboards = {}

dashboards.KUBERNETES = {
  label = "Kubernetes Dashboard",
  names = { "kubernetes-dashboard" },
  labels = {
    { "k8s-app", "kubernetes-dashboard" },
    { "app.kubernetes.io/name", "kubernetes-dashboard" },
  },
}

dashboards.KUBEFLOW = {
  label = "Kubeflow central dashboard",
  names = { "centraldashboard" },
  labels = {
    { "app", "centraldashboard" },
    { "app.kubernetes.io/name", "centraldashboard" },
  },
}

local function pair_in(map, pairs_list)
  if node(map) == nil then return nil end
  for _, p in ipairs(pairs_list) do
    if map[p[1]] == p[2] then return p end
  end
  return nil
end

function dashboards.identify(which, body, name)
  local names = { str(get(body, "metadata", "name")), str(name) }
  for i = 1, 2 do
    local n = names[i]
    if n then
      for _, want in ipairs(which.names) do
        if n == want then return string.format('name "%s"', want) end
      end
    end
  end
  local p = pair_in(get(body, "metadata", "labels"), which.labels)
  if p then return "label " .. p[1] .. "=" .. p[2] end
  p = pair_in(get(body, "spec", "selector"), which.labels)
  if p then return "selector " .. p[1] .. "=" .. p[2] end
  return nil
end

function dashboards.is_load_balancer(body)
  return get(body, "spec", "type") == "LoadBalancer"
end

function dashboards.exposed(which, body, name, namespace)
  if not dashboards.is_load_balancer(body) then return nil end
  local why = dashboards.identify(which, body, name)
  if why == nil then return nil end
  local ns = str(get(body, "metadata", "namespace")) or str(namespace)
  local sname = str(get(body, "metadata", "name")) or str(name)
  local svc = sname and string.format('Service "%s"', (ns and (text(ns, 63) .. "/") or "") .. text(sname, 253))
    or "a Service"
  return string.format("%s (%s) is of type LoadBalancer; it serves the %s", svc, why, which.label)
end

function dashboards.is_kubernetes_dashboard(body, name)
  return dashboards.identify(dashboards.KUBERNETES, body, name) ~= nil
end

function dashboards.is_kubeflow_dashboard(body, name)
  return dashboards.identify(dashboards.KUBEFLOW, body, name) ~= nil
end

return dashboards
