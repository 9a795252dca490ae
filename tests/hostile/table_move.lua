-- Attack (item 3): table.move over a range of 2^40 elements (one C call).
-- expect: error instruction budget
return {
  type = "Discovery:Kubernetes/HostileTableMove",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local t = {}
    table.move(t, 1, 2^40, 2)
    return false
  end,
}
