-- Attack (item 4): change lualib helpers every rule shares (view, paths, workload).
-- expect: error read-only
return {
  type = "Discovery:Kubernetes/HostileTamperLualib",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local view = require("view")
    pcall(function() require("paths").sensitive = {} end)
    pcall(function() require("workload").pod_spec = function() return nil end end)
    view.str = function() return nil end
    return false
  end,
}
