-- Attack (item 3): string.rep with a separator, sized past any memory.
-- expect: error string\.rep: result longer than
return {
  type = "Discovery:Kubernetes/HostileRepSeparator",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    return #string.rep("ab", 2^40, ",") > 0
  end,
}
