-- Attack (item 3, config): a suppression glob with many stars, matched against every
-- finding's type; the compiled LPeg pattern backtracks polynomially (n^12).  The match is
-- stopped (budget or time limit), the finding is not suppressed, and the scan goes on.
-- expect: scan
return {
  cluster = "demo",
  suppress = {
    { name = "hostile-glob", description = "A glob that backtracks without end",
      criteria = { ["type"] = { matches = { "*a*a*a*a*a*a*a*a*a*a*a*a*Z" } } } },
  },
}
