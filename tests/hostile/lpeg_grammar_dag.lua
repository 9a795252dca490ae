-- Attack (item 3): an LPeg grammar whose rules call each other as a DAG of width 2 and depth 40:
-- building and compiling it walks every path (2^40) inside LPeg itself, before any match, where
-- neither the budget nor the watchdog can stop it. The grammar is tried in a child process first
-- and refused when that does not finish within the time limit.
-- expect: error LPeg grammar refused: building this grammar did not finish within the time limit \(ms\) of 50; disabled
return {
  type = "Discovery:Kubernetes/HostileLpegGrammarDag",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local lpeg = require("lpeg")
    local P, V = lpeg.P, lpeg.V
    local g = { "A40", A0 = P"a" }
    for i = 1, 40 do g["A" .. i] = V("A" .. (i - 1)) * "x" + V("A" .. (i - 1)) * "y" end
    return lpeg.match(P(g), "a") ~= nil
  end,
}
