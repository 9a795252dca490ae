-- Attack (item 4): change string.find, match, sub, lower, gsub and byte for every rule,
-- through the library, rawset and the string metatable.
-- expect: error read-only
return {
  type = "Discovery:Kubernetes/HostileTamperString",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    pcall(function() getmetatable("").__index.find = function() return nil end end)
    pcall(function() rawset(string, "match", function() return nil end) end)
    local none = function() return nil end
    string.find, string.match, string.sub, string.lower, string.gsub, string.byte = none, none, none, none, none, none
    return false
  end,
}
