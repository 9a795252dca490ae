-- Attack (item 5, windows and baselines): series that ask for the most keys and values there are
-- (1,000,000 keys x 4,096 values of 1 KiB each), filled on every event: five of them would hold far more
-- than the 256 MiB all the state shares. They count in the same caps as the tables, so the flood ends at
-- a cap (evictions, then refusals), at the budget or at the time limit, and never takes the memory.
-- expect: error (instruction budget|time limit|state tables are full)
local opts = { span = "24h", max_keys = 1000000, max_values = 4096 }
local series = {}
for i = 1, 5 do
  series[#series + 1] = kguard.window("hostile-window-" .. i, opts)
  series[#series + 1] = kguard.baseline("hostile-baseline-" .. i, opts)
end
local pad = string.rep("v", 1000)

return {
  type = "Discovery:Kubernetes/HostileSeriesFlood",
  severity = "Low",
  title = "Hostile rule for the sandbox tests",
  description = "A rule that attacks the engine; see tests/hostile.t.",
  remediation = "None: this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    local id = ev.audit_id or ""
    for i = 1, 1e9 do
      local s = series[i % #series + 1]
      local key, value = id .. (i % 5000), pad .. i
      if i % 2 == 0 then s:add(key, value) else s:observe(key, value) end
    end
  end,
}
