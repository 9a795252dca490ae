-- scope.lua: the keys under which rules keep facts about a cluster in state
-- tables (kguard.table): privileged images, the RBAC memory, Kubeflow.
--
--     scope.key(ev, part1, part2, ...) -> string
--         the parts (strings; nil reads as "") joined with a tab, which no
--         Kubernetes name, namespace or image reference can contain.  One
--         part is returned as it is, so single-part keys written before this
--         module existed (privileged_images) stay valid.
--
-- Today one kguard process watches one cluster (--cluster), so a key names
-- no cluster.  When events carry their cluster, prefix it here (the event is
-- passed for that reason) and every table becomes per cluster at once.

local scope = {}

function scope.key(ev, ...) -- luacheck: ignore ev (reserved for the cluster)
  local n = select("#", ...)
  if n == 1 then return tostring((...) or "") end
  local parts = {}
  for i = 1, n do
    local p = select(i, ...)
    parts[i] = p == nil and "" or tostring(p)
  end
  return table.concat(parts, "\t")
end

return scope
