-- AttackSequence:EKS/CompromisedCluster
--
-- Correlation over kguard's own findings.  The engine records every finding
-- it writes (not archived ones) as a signal of the finding's user in the
-- window "kguard.signals" (24 hours, per cluster; state.h).  This rule fires
-- when a user's signals within 24 hours span at least MIN_TYPES finding
-- types from at least MIN_TACTICS tactics, at least one of them a
-- behavioural (AnomalousBehavior) type, once per user per 24 hours
-- (table "sequence_fired").  It is judged on the calls the anomaly rules
-- watch, after them (the file sorts last), so the call that completes a
-- sequence reports it.  service.detection.sequence follows GuardDuty's
-- Sequence shape: actors, signals, sequenceIndicators.

local anomaly = require("anomaly")
local workload = require("workload")
local rbac = require("rbac")

local SPAN = 86400
local MIN_TYPES = 3
local MIN_TACTICS = 2

local fired = kguard.table("sequence_fired", { max_entries = 100000, ttl = SPAN })

local function api()
  local list = {
    "get secrets", "list secrets", "watch secrets", "create pods/exec", "get pods/exec",
    "create selfsubjectaccessreviews", "create selfsubjectrulesreviews",
    "create roles", "update roles", "patch roles",
    "create clusterroles", "update clusterroles", "patch clusterroles",
  }
  for _, a in ipairs(workload.writes()) do list[#list + 1] = a end
  for _, a in ipairs(rbac.writes()) do list[#list + 1] = a end
  return list
end

local function sequence(actor, signals, tactics)
  local out, names = {}, {}
  for i, s in ipairs(signals) do
    out[i] = {
      uid = s.type, type = "FINDING", name = s.type,
      lastSeenAt = anomaly.iso(s.last), actorIds = { actor },
    }
    names[i] = s.type
  end
  return {
    sequence = {
      uid = actor,
      description = string.format("%d kguard findings from %d tactics for %s within 24 hours: %s",
        #signals, #tactics, actor, table.concat(names, ", ")),
      actors = { { id = actor } },
      signals = out,
      sequenceIndicators = { { key = "ATTACK_TACTIC", title = "Attack tactics", values = tactics } },
    },
  }
end

return {
  type = "AttackSequence:EKS/CompromisedCluster",
  severity = 9,
  title = "Findings of several tactics for one user: possible compromise",
  description = "One user collected kguard findings of several types and tactics within 24 hours, "
    .. "at least one of them behaviour unusual for that user (for example unusual secret reads, an "
    .. "exec and a new privileged workload, or a Tor exit and an unusual exec). Each alone may "
    .. "be routine; together they look like the steps of an intrusion. "
    .. "service.detection.sequence lists the findings.",
  remediation = "Treat the user's credential (kubernetesUserDetails) as compromised until its owner "
    .. "explains every signal: revoke it, review the findings listed under "
    .. "service.detection.sequence.signals, and undo what they describe.",
  match = {
    api = api(),
  },
  predicate = function(ev)
    local actor = ev.username
    if actor == nil or anomaly.signal_count(actor) < MIN_TYPES or fired:has(actor) then return nil end
    local signals, types, tactics, seen, behavioural = {}, 0, {}, {}, false
    for _, s in ipairs(anomaly.signals(actor, SPAN)) do
      if s.tactic ~= "AttackSequence" then
        signals[#signals + 1] = s
        types = types + 1
        behavioural = behavioural or s.type:find("/AnomalousBehavior", 1, true) ~= nil
        if not seen[s.tactic] then
          seen[s.tactic] = true
          tactics[#tactics + 1] = s.tactic
        end
      end
    end
    if types < MIN_TYPES or #tactics < MIN_TACTICS or not behavioural then return nil end
    fired:add(actor)
    table.sort(tactics)
    return { detection = sequence(actor, signals, tactics) }
  end,
}
