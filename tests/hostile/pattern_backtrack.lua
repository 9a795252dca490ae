-- Attack (item 3): a Lua pattern that backtracks polynomially inside one string.find.
-- expect: error (instruction budget|time limit)
return {
  type = "Discovery:Kubernetes/HostilePatternBacktrack",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local s = string.rep(ev.verb or "a", 2000)
    return s:find(".-.-.-.-.-.-%d") ~= nil
  end,
}
