-- lualib/anomaly.lua's helpers (networks, user agents, image repositories,
-- dates, who is profiled) and the kguard.window / kguard.baseline bindings as
-- rules see them (the runner's clock is wall time: no events set it).
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local env = sandbox.new { modules = { anomaly_local = false } }
local anomaly = env.require("anomaly")
local kg = harness.globals().kguard

T.is(anomaly.network("203.0.113.77"), "203.0.113.0/24", "IPv4: its /24")
T.is(anomaly.network("2001:db8:1:2::5"), "2001:db8:1::/48", "IPv6: its /48")
T.is(anomaly.network(nil), nil, "no address: nil")
T.is(anomaly.agent("kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819"), "kubectl", "agent: first product token")
T.is(anomaly.agent("Helm/3.14.0"), "Helm", "agent: helm")
T.is(anomaly.agent(""), "(none)", "agent: empty")
T.is(anomaly.repository("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:1.4.2"),
  "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api", "repository: tag dropped")
T.is(anomaly.repository("localhost:5000/tools/debug"), "localhost:5000/tools/debug", "repository: a registry port is kept")
T.is(anomaly.repository("nginx@sha256:0123abcd"), "nginx", "repository: digest dropped")
T.is(anomaly.iso(1715677200000), "2024-05-14T09:00:00Z", "iso: epoch ms as RFC 3339")
T.is(anomaly.iso(951782400000), "2000-02-29T00:00:00Z", "iso: a leap day")

local function ev(username, extra)
  local f = { verb = "get", resource = "secrets", namespace = "prod", name = "db", username = username }
  for k, v in pairs(extra or {}) do f[k] = v end
  return sandbox.event(f)
end
T.ok(anomaly.profiled(ev("alice")), "a person is profiled")
T.ok(not anomaly.profiled(ev("system:node:ip-10-0-1-2.ec2.internal")), "a kubelet is not")
T.ok(not anomaly.profiled(ev("system:serviceaccount:kube-system:replicaset-controller")), "a kube-system controller is not")
T.ok(anomaly.profiled(ev("system:serviceaccount:kube-system:aws-node")), "another kube-system account is")

-- the bindings
local w = kg.window("test_window", { span = "5m", max_values = 3 })
local c, d = w:add("alice", "a")
T.is(c, 1, "window: first count"); T.is(math.type(c), "integer", "window: counts are integers")
w:add("alice", "b"); w:add("alice", "a")
c, d = w:add("alice")
T.is(c, 4, "window: a count without a value"); T.is(d, 2, "window: two distinct values")
T.is(w:count("bob"), 0, "window: unknown key counts 0")
local vals = w:values("alice")
T.ok(vals.a and vals.b and math.type(vals.a) == "integer", "window: values with their last time")
T.ok(not pcall(kg.window, "bad", { span = "5 minutes" }), "window: a bad span is an error")
T.ok(not pcall(kg.window, "bad", {}), "window: a span is required")

local b = kg.baseline("test_baseline", { learn = "1d" })
local new, learning = b:observe("alice", "prod")
T.ok(new and learning, "baseline: a first value is new, while learning")
new = b:observe("alice", "prod")
T.ok(not new, "baseline: a repeat is not new")
T.ok(b:seen("alice", "prod") and not b:seen("alice", "dev"), "baseline: seen")
T.is(b:age(), 0, "baseline: age 0 seconds at the start")
T.ok(b:learning(), "baseline: learning for a day")
local b0 = kg.baseline("test_baseline_0", { learn = 0 })
local _, l0 = b0:observe("k", "v")
T.ok(not l0, "baseline: learn = 0 never learns")
T.ok(math.type(kg.now()) == "integer" and kg.now() > 1700000000000, "kguard.now: epoch ms")

local t = kg.table("test_counts")
T.is(math.type(t:incr("x")), "integer", "table: incr returns an integer")
T.is(t:incr("x", 2), 3, "table: incr adds")

T.done()
