-- Policy:Kubernetes/ExposedDashboard
--
-- The Service in front of the Kubernetes Dashboard was created or changed to
-- type LoadBalancer, which asks the cloud provider for an external load
-- balancer (usually with a public address) pointing at the dashboard.
-- Recognised by name, labels or selector (lualib/dashboards.lua), v2 and the
-- v7 Helm chart (Kong's proxy kubernetes-dashboard-kong-proxy, the web and
-- API Services); a patch that carries only spec.type is matched by the name
-- in the request URI.  A v7 release under another name is known by the
-- part-of label of its other Services (state table dashboard_releases), and
-- its Kong proxy (app.kubernetes.io/name=kong, same instance label) counts.
-- Not exposed: internal load balancers (per-cloud
-- annotations) and ones whose loadBalancerSourceRanges are all private
-- (dashboards.internet_facing).  Dry runs are not judged.

local dashboards = require("dashboards")
local paths = require("paths")

-- Helm releases of Dashboard v7 seen in the log (namespace, release), so that
-- the Kong proxy of a release with another name is recognised too.
local releases = kguard.table("dashboard_releases", { max_entries = 10000, ttl = 0 })

return {
  type = "Policy:Kubernetes/ExposedDashboard",
  severity = "Medium",
  title = "Kubernetes Dashboard exposed through a load balancer",
  description = "The Service of the Kubernetes Dashboard was set to type LoadBalancer, so the cloud "
    .. "provider places an external load balancer in front of it and the dashboard becomes reachable "
    .. "from outside the cluster, typically from the whole internet. The dashboard is a full "
    .. "management console: a weak login, a leaked token or an over-privileged dashboard service "
    .. "account lets whoever finds it run workloads in the cluster. Exposed dashboards are actively "
    .. "searched for and have been abused, for example to deploy crypto miners.",
  remediation = "kguard.detail names the Service. Turn it back into an internal one: `kubectl patch "
    .. "svc <name> -n <namespace> -p '{\"spec\":{\"type\":\"ClusterIP\"}}'` and reach the dashboard "
    .. "through `kubectl proxy` or `kubectl port-forward -n <namespace> svc/<name> 8443:443`, or "
    .. "behind an authenticating proxy or VPN. If it must stay reachable, limit who can connect with "
    .. "spec.loadBalancerSourceRanges and network policies, require sign-in with short-lived tokens, "
    .. "and make sure the dashboard's service account has no more than read access (`kubectl "
    .. "auth can-i --list --as=system:serviceaccount:<namespace>:<dashboard-sa>`). If the change was "
    .. "not planned, revoke the credentials of the user under kubernetesUserDetails and check the "
    .. "cluster for workloads created through the dashboard.",
  match = {
    api = { "create services", "update services", "patch services" },
    success = true,
    body = true,
  },
  predicate = function(ev)
    if paths.is_dry_run(ev.request_uri) then return nil end -- changes nothing
    dashboards.remember_release(ev, releases)
    local detail = dashboards.exposed(dashboards.KUBERNETES, ev.body, ev.name, ev.namespace)
      or dashboards.exposed_kong(ev, releases)
    if detail == nil then return nil end
    return { detail = detail }
  end,
}
