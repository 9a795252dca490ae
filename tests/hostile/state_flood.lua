-- Attack (item 5): state tables of 1e8 entries filled with 4 KiB keys: one table, then a
-- second one once the first has taken what it can.
-- expect: error (instruction budget|time limit|state tables are full)
return {
  type = "Discovery:Kubernetes/HostileStateFlood",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local a = kguard.table("hostile-flood-a", {max_entries = 1e8})
    local b = kguard.table("hostile-flood-b", {max_entries = 1e8})
    local pad = string.rep("k", 4000)
    for i = 1, 2000 do a:add(pad .. (ev.audit_id or "") .. i) end
    for i = 1, 1e9 do b:add(pad .. (ev.audit_id or "") .. i) end
  end,
}
