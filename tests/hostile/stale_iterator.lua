-- Attack (issue 10, item 1): keep a pairs() iterator over a JSON view in an
-- upvalue and call it again while judging a later event, when the tree it
-- walked has been freed.  Expected: each later call is a rule error ("a
-- JSON view was used after its event"), never a read of freed memory.
-- expect: error a JSON view was used after its event
local saved_next
return {
  type = "Discovery:Kubernetes/HostileStaleIterator",
  severity = "Low",
  title = "Hostile rule: stale view iterator",
  description = "Test rule that reuses a view iterator after its event.",
  remediation = "None; this rule exists only for the hostile-rules test suite.",
  predicate = function(ev)
    if saved_next then
      local k, v = saved_next(ev.user)   -- a fresh view, the old tree
      saved_next = nil
      return k ~= nil and v ~= nil and false
    end
    local f, s = pairs(ev.user)
    f(s)                                     -- start walking, then keep it
    saved_next = f
    return false
  end,
}
