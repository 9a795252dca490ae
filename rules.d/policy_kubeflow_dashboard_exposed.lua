-- Policy:Kubernetes/KubeflowDashboardExposed
--
-- Kubeflow's central dashboard was put behind an internet-facing load
-- balancer, in one of two ways:
--   - its own Service (centraldashboard, recognised by name, labels or
--     selector, lualib/dashboards.lua) was created or changed to type
--     LoadBalancer;
--   - Istio's ingress gateway (istio-ingressgateway, the way into the
--     dashboard in Kubeflow's manifests) became a LoadBalancer in a cluster
--     that runs Kubeflow.  That the cluster runs Kubeflow is known from the
--     log: a write or read of the centraldashboard Deployment or Service, or
--     of a kubeflow.org Profile.  Whichever comes second fires: the gateway
--     turned into a LoadBalancer after Kubeflow was seen, or Kubeflow seen
--     while the gateway is an exposed LoadBalancer.
-- Internal load balancers and ones admitting only private source ranges
-- are not exposed (dashboards.internet_facing).  Dry runs neither fire nor
-- change the state.
--
-- State: the table "kubeflow" (keys from scope.key) holds "kubeflow" once
-- Kubeflow was seen, and one key per Istio gateway Service that is an
-- internet-facing LoadBalancer (removed when it stops being one).

local dashboards = require("dashboards")
local paths = require("paths")
local scope = require("scope")
local view = require("view")

local state = kguard.table("kubeflow", { max_entries = 10000, ttl = 0 })

local GATEWAY_NS, GATEWAY_NAME = "istio-system", "istio-ingressgateway"

local function svc_name(ev) return view.str(view.get(ev.body, "metadata", "name")) or view.str(ev.name) end
local function svc_ns(ev) return view.str(view.get(ev.body, "metadata", "namespace")) or view.str(ev.namespace) end

local function gateway_key(ev, ns, name) return scope.key(ev, "istio-gateway", ns, name) end

-- Does this event show that the cluster runs Kubeflow?
local function kubeflow_evidence(ev)
  local res = ev.resource
  if res == "profiles" then return ev.api_group == "kubeflow.org" end
  if ev.verb == "get" then
    local n = view.str(ev.name)
    for _, want in ipairs(dashboards.KUBEFLOW.names) do
      if n == want then return true end
    end
    return false
  end
  return dashboards.identify(dashboards.KUBEFLOW, ev.body, ev.name, ev.namespace) ~= nil
end

local WRITES = { create = true, update = true, patch = true }

-- A write of an Istio gateway Service: keep the state, and the detail when it
-- exposes a Kubeflow that was seen.
local function judge_gateway(ev)
  local body = ev.body
  if dashboards.identify(dashboards.ISTIO_GATEWAY, body, ev.name, ev.namespace) == nil then return nil end
  local key = gateway_key(ev, svc_ns(ev), svc_name(ev))
  if dashboards.internet_facing(body) then
    state:set(key, 1)
    if state:has(scope.key(ev, "kubeflow")) then
      return string.format("%s is of type LoadBalancer facing the internet; it is the way into the %s, "
        .. "which runs in this cluster", dashboards.describe_service(body, ev.name, ev.namespace),
        dashboards.KUBEFLOW.label)
    end
  elseif view.get(body, "spec", "type") ~= nil or ev.verb ~= "patch" or ev.response_object ~= nil then
    state:remove(key) -- the whole object, or a new type: no longer an exposed LoadBalancer
  end
  return nil
end

local function judge(ev)
  if paths.is_dry_run(ev.request_uri) then return nil end -- changes nothing
  local detail
  if ev.resource == "services" and WRITES[ev.verb] then
    detail = dashboards.exposed(dashboards.KUBEFLOW, ev.body, ev.name, ev.namespace)
      or judge_gateway(ev)
  end
  if kubeflow_evidence(ev) and state:add(scope.key(ev, "kubeflow")) and detail == nil
      and state:has(gateway_key(ev, GATEWAY_NS, GATEWAY_NAME)) then
    detail = string.format('the %s appeared (%s %s) while Service "%s/%s" is a LoadBalancer '
      .. "facing the internet, the way into it", dashboards.KUBEFLOW.label, view.text(ev.resource, 63),
      view.text(svc_name(ev) or "?", 253), GATEWAY_NS, GATEWAY_NAME)
  end
  return detail
end

return {
  type = "Policy:Kubernetes/KubeflowDashboardExposed",
  severity = "Medium",
  title = "Kubeflow central dashboard exposed through a load balancer",
  description = "The Kubeflow central dashboard was put behind a load balancer facing the internet, "
    .. "either its own Service or the Istio ingress gateway that leads to it, so the dashboard is "
    .. "reachable from outside the cluster, often from anywhere. The dashboard is the entry point "
    .. "to notebooks, pipelines and model serving; where authentication in front of it is missing or "
    .. "weak, visitors can start notebook servers and pipelines, which run code in the cluster with "
    .. "the rights of their service accounts. Exposed Kubeflow installations have been used to run "
    .. "crypto miners.",
  remediation = "kguard.detail names the Service. Make it internal again: `kubectl patch svc <name> "
    .. "-n <namespace> -p '{\"spec\":{\"type\":\"ClusterIP\"}}'`, or give the load balancer the "
    .. "provider's internal annotation, and reach Kubeflow through a VPN or with `kubectl "
    .. "port-forward -n istio-system svc/istio-ingressgateway 8080:80`. If it must stay public, keep "
    .. "authentication (Dex or OIDC through oauth2-proxy) in front of every path, restrict source "
    .. "addresses with spec.loadBalancerSourceRanges, and check the rights of the service accounts "
    .. "notebooks and pipelines run as. If the change was not planned, revoke the credentials of the "
    .. "user under kubernetesUserDetails and look for notebooks, pipeline runs and other workloads "
    .. "started since (`kubectl get notebooks,pods -A --sort-by=.metadata.creationTimestamp`).",
  match = {
    -- Service writes are judged; the other calls only show that Kubeflow runs here
    api = { "create services", "update services", "patch services", "get services",
            "create deployments", "update deployments", "patch deployments", "get deployments",
            "create profiles", "update profiles", "patch profiles" },
    success = true,
  },
  predicate = function(ev)
    local detail = judge(ev)
    if detail == nil then return nil end
    return { detail = detail }
  end,
}
