-- Attack (item 2): return an override table whose __index raises; kguard read it outside a
-- protected call, and Lua panicked.
-- expect: todo item 2 (panics) is not fixed on this branch; error .
return {
  type = "Discovery:Kubernetes/HostileOverrideMetatable",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    return setmetatable({}, {__index = function() error("hostile __index") end})
  end,
}
