-- lualib/paths.lua: the health endpoints and the exclude_paths rule.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local T = dofile(dir .. "/lib/tap.lua")
local sandbox = dofile(dir .. "/lib/harness.lua")

local paths = sandbox.new().require("paths")

T.same_list(paths.health, { "/healthz", "/livez", "/readyz", "/version" }, "paths.health per the contract")

local yes = { "/healthz", "/healthz/etcd", "/healthz/etcd?verbose", "/livez", "/livez/ping",
  "/readyz?verbose", "/readyz/shutdown", "/version", "/version?timeout=32s" }
local no = { "/healthzfoo", "/healthz2", "/api/v1/namespaces/default/pods", "/versions", "/",
  "", "/api/v1/healthz", "healthz" }
for _, u in ipairs(yes) do T.ok(paths.is_health(u), u .. " is a health path") end
for _, u in ipairs(no) do T.ok(not paths.is_health(u), "'" .. u .. "' is not a health path") end
T.ok(not paths.is_health(nil), "nil is not a health path")
T.ok(paths.matches("/metrics?x=1", { "/metrics" }), "matches works on any list")

T.done()
