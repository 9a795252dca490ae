-- Attack (item 3): gsub and gmatch with backtracking patterns over a long subject.
-- expect: error (instruction budget|time limit)
return {
  type = "Discovery:Kubernetes/HostileGsubBacktrack",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local s = string.rep("a", 3000)
    for w in s:gmatch("(.-)(.-)(.-)b") do return w end
    return (s:gsub("(.-)(.-)(.-)b", "%1")) == ""
  end,
}
