-- Attack (item 3): an LPeg grammar whose rules call each other as a DAG of width 2 and depth 40:
-- building and compiling it walks every path (2^40) inside LPeg itself, before any match.
-- Not run by hostile.t: it hangs the engine inside LPeg (a known gap of issue 10, item 3). Kept
-- here to reproduce the gap: kguard scan --rules DIR-with-this-file examples/audit.log hangs.
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
