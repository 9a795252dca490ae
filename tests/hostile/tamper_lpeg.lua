-- Attack (item 4): change LPeg for everyone: its functions, the pattern metatable, the
-- process-wide stack limit.
-- expect: error (read-only|not available)
return {
  type = "Discovery:Kubernetes/HostileTamperLpeg",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local lpeg = require("lpeg")
    pcall(function() getmetatable(lpeg.P(1)).__index.match = function() return nil end end)
    pcall(function() lpeg.match = function() return nil end end)
    lpeg.setmaxstack(1)
    return false
  end,
}
