-- Attack: a plain endless loop (the instruction budget).
-- expect: error instruction budget
return {
  type = "Discovery:Kubernetes/HostileBusyLoop",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    while true do end
  end,
}
