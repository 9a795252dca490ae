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
--         Kubernetes Dashboard v2: service kubernetes-dashboard, labels/selector
--         k8s-app=kubernetes-dashboard (recommended manifests) or
--         app.kubernetes.io/name=kubernetes-dashboard (Helm chart); v7 (Helm):
--         kubernetes-dashboard-kong-proxy (the entry point), -web, -api, -auth,
--         part-of/instance labels, a Kong proxy in namespace
--         kubernetes-dashboard.
--         Kubeflow central dashboard: service centraldashboard, labels/selector
--         app=centraldashboard or app.kubernetes.io/name=centraldashboard.
--     dashboards.identify(which, body, name) -> reason string | nil
--         e.g. 'name "kubernetes-dashboard"', 'label k8s-app=kubernetes-dashboard',
--         'selector app=centraldashboard'
--     dashboards.is_load_balancer(body)     -> spec.type == "LoadBalancer"
--     dashboards.exposed(which, body, name[, namespace]) -> detail | nil
--         a sentence when the Service is an internet-facing LoadBalancer and
--         is the dashboard's (name and namespace: ev.name, ev.namespace)
--     dashboards.internet_facing(body) -> true | false, why not: type
--         LoadBalancer, no internal-load-balancer annotation
--         (dashboards.internal), requested addresses (loadBalancerIP, MetalLB)
--         not all private, and loadBalancerSourceRanges not all private
--     dashboards.internal(body) -> reason | nil
--     dashboards.is_private_cidr(cidr) -> the range is not globally reachable
--     dashboards.source_ranges(body) -> list of the admitted ranges
--     dashboards.ISTIO_GATEWAY  Istio's ingress gateway (Kubeflow's way in)
--     dashboards.remember_release / exposed_kong: Dashboard v7 releases under
--         other names (see below)
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
  -- v2 (recommended manifests, Helm chart up to 6.x): kubernetes-dashboard;
  -- v7 (Helm chart only): the entry point is Kong's proxy, and the web UI
  -- and its API have Services of their own
  names = { "kubernetes-dashboard", "kubernetes-dashboard-kong-proxy", "kubernetes-dashboard-web",
            "kubernetes-dashboard-api", "kubernetes-dashboard-auth" },
  labels = {
    { "k8s-app", "kubernetes-dashboard" },
    { "app.kubernetes.io/name", "kubernetes-dashboard" },
    { "app.kubernetes.io/name", "kubernetes-dashboard-web" },
    { "app.kubernetes.io/name", "kubernetes-dashboard-api" },
    { "app.kubernetes.io/part-of", "kubernetes-dashboard" },
    -- every object of a v7 release named kubernetes-dashboard (kong's proxy
    -- carries no part-of label)
    { "app.kubernetes.io/instance", "kubernetes-dashboard" },
  },
  -- the chart's and the manifests' namespace: a Kong proxy there is the
  -- dashboard's, whatever the release is called
  namespace = "kubernetes-dashboard",
}

dashboards.KUBEFLOW = {
  label = "Kubeflow central dashboard",
  names = { "centraldashboard", "centraldashboard-angular" },
  labels = {
    { "app", "centraldashboard" },
    { "app.kubernetes.io/name", "centraldashboard" },
  },
}

-- Istio's ingress gateway: the way into Kubeflow's dashboard in the stock
-- manifests (istio-system/istio-ingressgateway).
dashboards.ISTIO_GATEWAY = {
  label = "Istio ingress gateway",
  names = { "istio-ingressgateway" },
  labels = {
    { "istio", "ingressgateway" },
    { "app", "istio-ingressgateway" },
  },
}

local function pair_in(map, pairs_list)
  if node(map) == nil then return nil end
  for _, p in ipairs(pairs_list) do
    if map[p[1]] == p[2] then return p end
  end
  return nil
end

-- The v7 metrics scraper is part of the dashboard but serves no UI.
local function is_metrics_scraper(body, name)
  local n = str(get(body, "metadata", "name")) or str(name) or ""
  return n:find("metrics-scraper", 1, true) ~= nil
    or get(body, "metadata", "labels", "app.kubernetes.io/component") == "metrics-scraper"
end

-- Rules see this module through read-only proxies, so a dashboard is told
-- apart by its fields, never by comparing the table itself.
dashboards.KUBERNETES.excluded = is_metrics_scraper

local function is_kong_proxy(body, name)
  local n = str(get(body, "metadata", "name")) or str(name) or ""
  return n:sub(-11) == "-kong-proxy" or get(body, "metadata", "labels", "app.kubernetes.io/name") == "kong"
end

function dashboards.identify(which, body, name, namespace)
  if which.excluded and which.excluded(body, name) then return nil end
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
  local ns = str(get(body, "metadata", "namespace")) or str(namespace)
  if which.namespace and ns == which.namespace and is_kong_proxy(body, name) then
    return "Kong proxy in namespace " .. which.namespace
  end
  return nil
end

function dashboards.is_load_balancer(body)
  return get(body, "spec", "type") == "LoadBalancer"
end

-- ---- internal load balancers -------------------------------------------

local function lower(x)
  return type(x) == "string" and x:lower() or nil
end

-- Annotations that make a cloud load balancer internal (private addresses in
-- the cluster's network only), per provider: {annotation, test, label}.
local INTERNAL = {
  { "service.beta.kubernetes.io/aws-load-balancer-scheme",
    function(v) return v == "internal" end },
  -- legacy in-tree AWS provider: any value but "false" ("true", a CIDR)
  { "service.beta.kubernetes.io/aws-load-balancer-internal",
    function(v) return v ~= nil and v ~= "" and v ~= "false" end },
  { "networking.gke.io/load-balancer-type", function(v) return v == "internal" end },
  { "cloud.google.com/load-balancer-type", function(v) return v == "internal" end },
  { "service.beta.kubernetes.io/azure-load-balancer-internal", function(v) return v == "true" end },
  { "service.beta.kubernetes.io/oci-load-balancer-internal", function(v) return v == "true" end },
  { "service.beta.kubernetes.io/openstack-internal-load-balancer", function(v) return v == "true" end },
  { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type",
    function(v) return v == "intranet" end },
  { "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type",
    function(v) return v == "private" end },
}

-- dashboards.internal(body) -> why the load balancer is internal, or nil.
-- The AWS Load Balancer Controller (Services with aws-load-balancer-type
-- "external" or "nlb-ip", or loadBalancerClass service.k8s.aws/nlb) makes
-- internal NLBs unless told aws-load-balancer-scheme: internet-facing.
function dashboards.internal(body)
  local ann = get(body, "metadata", "annotations")
  for _, a in ipairs(INTERNAL) do
    local v = lower(get(ann, a[1]))
    if v ~= nil and a[2](v) then return "annotation " .. a[1] .. ": " .. text(get(ann, a[1]), 40) end
  end
  local lbtype = lower(get(ann, "service.beta.kubernetes.io/aws-load-balancer-type"))
  local class = get(body, "spec", "loadBalancerClass")
  if (lbtype == "external" or lbtype == "nlb-ip" or class == "service.k8s.aws/nlb")
      and get(ann, "service.beta.kubernetes.io/aws-load-balancer-scheme") == nil then
    return "AWS Load Balancer Controller NLB without an internet-facing scheme (internal by default)"
  end
  return nil
end

-- ---- loadBalancerSourceRanges -------------------------------------------

-- Ranges that are not globally reachable (RFC 6890 special-purpose blocks:
-- private, shared CGNAT, loopback, link-local, documentation, benchmarking,
-- reserved): {first octets as a 32-bit prefix, length}.
local V4_PRIVATE = {
  { 0x00000000, 8 }, { 0x0A000000, 8 }, { 0x64400000, 10 }, { 0x7F000000, 8 },
  { 0xA9FE0000, 16 }, { 0xAC100000, 12 }, { 0xC0000000, 24 }, { 0xC0000200, 24 },
  { 0xC0A80000, 16 }, { 0xC6120000, 15 }, { 0xC6336400, 24 }, { 0xCB007100, 24 },
  { 0xF0000000, 4 },
}

local function v4(addr)
  local a, b, c, d = addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local n = 0
  for _, x in ipairs({ a, b, c, d }) do
    x = tonumber(x)
    if x > 255 then return nil end
    n = n * 256 + x
  end
  return n
end

-- the first 32 bits and the whole address of an IPv6 text, or nil
local function v6(addr)
  if not addr:find(":", 1, true) or addr:find("[^%x:.]") then return nil end
  local head, tail = addr:match("^(.-)::(.*)$")
  local groups = {}
  local function split(str_, out)
    if str_ == "" then return true end
    for g in (str_ .. ":"):gmatch("([^:]*):") do
      if g:find(".", 1, true) then -- embedded IPv4
        local n = v4(g)
        if not n then return false end
        out[#out + 1] = n >> 16
        out[#out + 1] = n & 0xFFFF
      else
        if g == "" or #g > 4 then return false end
        out[#out + 1] = tonumber(g, 16)
      end
    end
    return true
  end
  if head then
    local h, t = {}, {}
    if not split(head, h) or not split(tail, t) or #h + #t > 7 then return nil end
    for _, g in ipairs(h) do groups[#groups + 1] = g end
    for _ = 1, 8 - #h - #t do groups[#groups + 1] = 0 end
    for _, g in ipairs(t) do groups[#groups + 1] = g end
  else
    if not split(addr, groups) or #groups ~= 8 then return nil end
  end
  return groups
end

local function v6_private(g, len)
  local first = (g[1] << 16) | g[2]
  local function within(prefix, plen)
    return len >= plen and (first >> (32 - plen)) == (prefix >> (32 - plen))
  end
  if within(0xFC000000, 7) or within(0xFE800000, 10) or within(0x20010DB8, 32) then return true end
  local zero96 = first == 0 and g[3] == 0 and g[4] == 0 and g[5] == 0
  if zero96 and g[6] == 0 and len >= 127 and g[7] == 0 and g[8] <= 1 then return true end -- :: and ::1
  if zero96 and g[6] == 0xFFFF and len >= 96 then -- v4-mapped: judge the IPv4 part
    return "mapped", ((g[7] << 16) | g[8]), len - 96
  end
  return false
end

local function v4_private(n, len)
  for _, b in ipairs(V4_PRIVATE) do
    if len >= b[2] and (n >> (32 - b[2])) == (b[1] >> (32 - b[2])) then return true end
  end
  return false
end

-- dashboards.is_private_cidr("10.0.0.0/8") -> true: the whole range lies in
-- blocks that are not globally reachable.  Anything that does not parse is
-- not private.
function dashboards.is_private_cidr(cidr)
  if type(cidr) ~= "string" then return false end
  cidr = cidr:match("^%s*(.-)%s*$")
  local addr, len = cidr:match("^([^/]+)/(%d+)$")
  addr = addr or cidr
  local n = v4(addr)
  if n then
    len = tonumber(len or 32)
    return len <= 32 and v4_private(n, len)
  end
  local g = v6(addr)
  if g == nil then return false end
  len = tonumber(len or 128)
  if len > 128 then return false end
  local yes, m, mlen = v6_private(g, len)
  if yes == "mapped" then return v4_private(m, mlen) end
  return yes
end

-- The source ranges the cloud load balancer admits: spec.loadBalancerSourceRanges,
-- else the annotation service.beta.kubernetes.io/load-balancer-source-ranges
-- (comma-separated).  An empty list: everyone.
function dashboards.source_ranges(body)
  local out = {}
  local spec = get(body, "spec", "loadBalancerSourceRanges")
  if node(spec) ~= nil and #spec > 0 then
    for i = 1, #spec do out[#out + 1] = spec[i] end
    return out
  end
  local ann = str(get(body, "metadata", "annotations", "service.beta.kubernetes.io/load-balancer-source-ranges"))
  if ann then
    for r in ann:gmatch("[^,]+") do
      r = r:match("^%s*(.-)%s*$")
      if r ~= "" then out[#out + 1] = r end
    end
  end
  return out
end

-- The addresses a Service asks its load balancer for: spec.loadBalancerIP,
-- or MetalLB's metallb.universe.tf/loadBalancerIPs (and metallb.io/...),
-- comma-separated.
function dashboards.requested_ips(body)
  local out = {}
  local ip = str(get(body, "spec", "loadBalancerIP"))
  if ip and ip ~= "" then out[1] = ip end
  local ann = get(body, "metadata", "annotations")
  for _, k in ipairs({ "metallb.universe.tf/loadBalancerIPs", "metallb.io/loadBalancerIPs" }) do
    local v = str(get(ann, k))
    if v then
      for x in v:gmatch("[^,%s]+") do out[#out + 1] = x end
    end
  end
  return out
end

-- dashboards.internet_facing(body) -> true | false, why not
-- A Service of type LoadBalancer is taken to face the internet unless an
-- annotation makes its load balancer internal, or it admits only source
-- ranges that are all private.  (Not a LoadBalancer: false.)
function dashboards.internet_facing(body)
  if not dashboards.is_load_balancer(body) then return false, "not of type LoadBalancer" end
  local why = dashboards.internal(body)
  if why then return false, "internal load balancer (" .. why .. ")" end
  -- an address asked for up front (spec.loadBalancerIP, MetalLB's annotations)
  -- that is private: the load balancer sits in a private network
  local ips = dashboards.requested_ips(body)
  if #ips > 0 then
    local all = true
    for _, ip in ipairs(ips) do
      if not dashboards.is_private_cidr(ip) then all = false end
    end
    if all then return false, "requested load-balancer addresses are all private" end
  end
  local ranges = dashboards.source_ranges(body)
  if #ranges > 0 then
    for _, r in ipairs(ranges) do
      if not dashboards.is_private_cidr(r) then return true end
    end
    return false, "loadBalancerSourceRanges are all private"
  end
  return true
end

local function describe_service(body, name, namespace)
  local ns = str(get(body, "metadata", "namespace")) or str(namespace)
  local sname = str(get(body, "metadata", "name")) or str(name)
  return sname and string.format('Service "%s"', (ns and (text(ns, 63) .. "/") or "") .. text(sname, 253))
    or "a Service"
end
dashboards.describe_service = describe_service

function dashboards.exposed(which, body, name, namespace)
  if not dashboards.internet_facing(body) then return nil end
  local why = dashboards.identify(which, body, name, namespace)
  if why == nil then return nil end
  return string.format("%s (%s) is of type LoadBalancer facing the internet; it serves the %s",
    describe_service(body, name, namespace), why, which.label)
end

-- ---- Dashboard v7 releases -------------------------------------------------
--
-- The v7 chart labels its own Services app.kubernetes.io/part-of=
-- kubernetes-dashboard and app.kubernetes.io/instance=<release>; its Kong
-- proxy carries only app.kubernetes.io/name=kong and the same instance.
--     dashboards.remember_release(ev, tbl): a write of such a Service records
--         (namespace, release) in the state table tbl
--     dashboards.exposed_kong(ev, tbl) -> detail | nil: the Service is the
--         Kong proxy of a recorded release and faces the internet

local function release_key(ev, ns, instance)
  return require("scope").key(ev, "kubernetes-dashboard", ns, instance)
end

function dashboards.remember_release(ev, tbl)
  local labels = get(ev.body, "metadata", "labels")
  if get(labels, "app.kubernetes.io/part-of") ~= "kubernetes-dashboard" then return end
  local instance = str(get(labels, "app.kubernetes.io/instance"))
  local ns = str(get(ev.body, "metadata", "namespace")) or str(ev.namespace)
  if instance and ns and get(labels, "app.kubernetes.io/part-of") == "kubernetes-dashboard" then
    tbl:add(release_key(ev, ns, instance))
  end
end

function dashboards.exposed_kong(ev, tbl)
  local body = ev.body
  if not dashboards.is_load_balancer(body) then return nil end
  local labels = get(body, "metadata", "labels")
  local instance = str(get(labels, "app.kubernetes.io/instance"))
  local ns = str(get(body, "metadata", "namespace")) or str(ev.namespace)
  if not (instance and ns and get(labels, "app.kubernetes.io/name") == "kong") then return nil end
  if not tbl:has(release_key(ev, ns, instance)) then return nil end
  if not dashboards.internet_facing(body) then return nil end
  return string.format("%s (Kong proxy of Dashboard release %s) is of type LoadBalancer facing the "
    .. "internet; it serves the %s", describe_service(body, ev.name, ev.namespace), text(instance, 63),
    dashboards.KUBERNETES.label)
end

function dashboards.is_kubernetes_dashboard(body, name)
  return dashboards.identify(dashboards.KUBERNETES, body, name) ~= nil
end

function dashboards.is_kubeflow_dashboard(body, name)
  return dashboards.identify(dashboards.KUBEFLOW, body, name) ~= nil
end

return dashboards
