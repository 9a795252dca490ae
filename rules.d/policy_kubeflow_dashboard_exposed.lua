-- Policy:Kubernetes/KubeflowDashboardExposed
--
-- The Service of Kubeflow's central dashboard was created or changed to type
-- LoadBalancer, which puts an external load balancer (usually with a public
-- address) in front of it.  Recognised by name, labels or selector
-- (lualib/dashboards.lua); a patch that carries only spec.type is matched by
-- the name in the request URI.

local dashboards = require("dashboards")

return {
  type = "Policy:Kubernetes/KubeflowDashboardExposed",
  severity = "Medium",
  title = "Kubeflow central dashboard exposed through a load balancer",
  description = "The Service of the Kubeflow central dashboard was set to type LoadBalancer, so the "
    .. "cloud provider puts an external load balancer in front of it and the dashboard is reachable "
    .. "from outside the cluster, often from the whole internet. The dashboard is the entry point "
    .. "to notebooks, pipelines and model serving; where authentication in front of it is missing or "
    .. "weak, visitors can start notebook servers and pipelines, which run code in the cluster with "
    .. "the rights of their service accounts. Exposed Kubeflow installations have been used to run "
    .. "crypto miners.",
  remediation = "kguard.detail names the Service. Make it internal again: `kubectl patch svc <name> "
    .. "-n <namespace> -p '{\"spec\":{\"type\":\"ClusterIP\"}}'`, and publish Kubeflow only through "
    .. "its authenticating ingress gateway (Istio with Dex or OIDC) or reach it with `kubectl "
    .. "port-forward -n <namespace> svc/<name> 8080:80`. If it must stay public, restrict source "
    .. "addresses with spec.loadBalancerSourceRanges, require sign-in for every path, and check the "
    .. "rights of the service accounts notebooks and pipelines run as. If the change was not "
    .. "planned, revoke the credentials of the user under kubernetesUserDetails and look for "
    .. "notebooks, pipeline runs and other workloads started since (`kubectl get "
    .. "notebooks,pods -A --sort-by=.metadata.creationTimestamp`).",
  match = {
    api = { "create services", "update services", "patch services" },
    success = true,
    body = true,
  },
  predicate = function(ev)
    local detail = dashboards.exposed(dashboards.KUBEFLOW, ev.body, ev.name, ev.namespace)
    if detail == nil then return nil end
    return { detail = detail }
  end,
}
