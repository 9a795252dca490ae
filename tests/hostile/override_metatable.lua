-- Attack (item 2): return an override table whose __index raises; kguard read it outside a
-- protected call, and Lua panicked; now it is an error naming the rule.
-- expect: error hostile __index
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
