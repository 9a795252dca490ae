-- Attack (item 3): string.rep of an empty string 2^50 times looped in C for ever.
-- expect: harmless
return {
  type = "Discovery:Kubernetes/HostileRepEmpty",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    return #string.rep("", 2^50) > 0 or #string.rep("", 2^50, "") > 0
  end,
}
