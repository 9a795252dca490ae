-- Attack (item 5): a state table of 1e8 entries filled with 4 KiB keys.
-- expect: error (instruction budget|time limit|state tables are full)
return {
  type = "Discovery:Kubernetes/HostileStateFlood",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local t = kguard.table("hostile-flood", {max_entries = 1e8})
    local pad = string.rep("k", 4000)
    for i = 1, 1e9 do t:add(pad .. (ev.audit_id or "") .. i) end
  end,
}
