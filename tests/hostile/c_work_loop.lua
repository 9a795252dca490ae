-- Attack (item 3): few Lua instructions, each a heavy C call (upper of 4 MiB, utf8.len).
-- expect: error (instruction budget|time limit)
return {
  type = "Discovery:Kubernetes/HostileCWorkLoop",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local s = string.rep("a", 4 * 2^20)
    while true do local _ = s:upper(); local _ = utf8.len(s) end
  end,
}
