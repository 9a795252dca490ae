-- Attack (item 3): huge string.format widths, then a format string of many conversions.
-- expect: error (invalid conversion|instruction budget|longer than|time limit)
return {
  type = "Discovery:Kubernetes/HostileStringFormat",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    pcall(string.format, "%099999999d", 1)
    local fmt = string.rep("%99d", 4000000)
    return #string.format(fmt, 1) > 0
  end,
}
