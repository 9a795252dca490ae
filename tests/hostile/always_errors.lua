-- Attack (item 6): a rule that fails on every event keeps costing its budget on each.
-- expect: error instruction budget|time limit; disabled
return {
  type = "Discovery:Kubernetes/HostileAlwaysErrors",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    while true do end
  end,
}
