-- Attack (item 4): redefine type, pairs, ipairs, tostring and next for everyone, then
-- reach the shared globals through _G and the environment's metatable.
-- expect: error (read-only|protected metatable|attempt to index)
return {
  type = "Discovery:Kubernetes/HostileTamperGlobals",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    type = function() return "nil" end
    pairs = function() return function() return nil end end
    ipairs, tostring, next = pairs, function() return "" end, function() return nil end
    _G.type = type
    local mt = getmetatable(_G)
    mt.__index.type = type
    return false
  end,
}
