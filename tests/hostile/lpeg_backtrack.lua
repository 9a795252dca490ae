-- Attack (item 3): a small recursive LPeg grammar that backtracks exponentially in one match.
-- expect: error (instruction budget|time limit)
return {
  type = "Discovery:Kubernetes/HostileLpegBacktrack",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local lpeg = require("lpeg")
    local P, V = lpeg.P, lpeg.V
    local g = P{ "S", S = V"T" * "x" + V"T" * "y" + P"a", T = "a" * V"S" }
    return g:match(string.rep("a", 40) .. "z") ~= nil
  end,
}
