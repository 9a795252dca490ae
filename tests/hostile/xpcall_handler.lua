-- Attack (item 3): an xpcall message handler that loops; Lua runs it with hooks off
-- when the error is the budget's own.
-- expect: error (instruction budget|time limit)
return {
  type = "Discovery:Kubernetes/HostileXpcallHandler",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    return xpcall(function() while true do end end, function() while true do end end)
  end,
}
