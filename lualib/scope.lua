-- scope.lua: the keys under which rules keep facts about a cluster in state
-- tables (kguard.table): privileged images, the RBAC memory, Kubeflow, the
-- Dashboard releases.
--
--     scope.key(ev, part1, part2, ...) -> string
--         the parts (strings or numbers; nil reads as "", trailing nils are
--         left out) joined with a tab, which no Kubernetes name, namespace or
--         image reference can contain.  One part is returned as it is, so
--         single-part keys written before this module existed
--         (privileged_images) stay valid.
--
-- Keys need no cluster: the engine keeps every state-table key apart per
-- cluster (kguard.table scopes it by the event's cluster), so each cluster
-- kguard judges has its own memory.  ev is passed so that a key could depend
-- on the event later without touching the callers.

local scope = {}

local function part(x) return x == nil and "" or tostring(x) end

function scope.key(ev, a, b, c, d, ...) -- luacheck: ignore ev (reserved for the cluster)
  local n = select("#", ...)
  if n == 0 then -- up to four parts: the usual case, without a table
    if d ~= nil then return part(a) .. "\t" .. part(b) .. "\t" .. part(c) .. "\t" .. part(d) end
    if c ~= nil then return part(a) .. "\t" .. part(b) .. "\t" .. part(c) end
    if b ~= nil then return part(a) .. "\t" .. part(b) end
    return part(a)
  end
  local parts = { a, b, c, d, ... }
  n = n + 4
  while n > 1 and parts[n] == nil do n = n - 1 end
  for i = 1, n do parts[i] = part(parts[i]) end
  return table.concat(parts, "\t", 1, n)
end

return scope
