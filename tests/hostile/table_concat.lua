-- Attack (item 3): table.concat over 2^40 elements served by a C __index.
-- expect: error instruction budget
return {
  type = "Discovery:Kubernetes/HostileTableConcat",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local t = setmetatable({}, {__index = string.lower, __len = function() return 2^40 end})
    return #table.concat(t) > 0
  end,
}
