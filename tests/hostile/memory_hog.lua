-- Attack: grow a table until memory runs out.
-- expect: error (memory limit|not enough memory|instruction budget|time limit)
return {
  type = "Discovery:Kubernetes/HostileMemoryHog",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("m", 64) .. i end
    return #t > 0
  end,
}
