-- CredentialAccess:Kubernetes/AnomalousBehavior.SecretsAccessed
--
-- A user read secrets (get, list, watch) in a way new for that user.
-- Baseline "secrets" (lualib/anomaly.lua): identity user.username;
-- dimensions namespace ("(cluster)" for all namespaces), source network
-- (first caller IP's /24 or /48) and user agent (first product token).
-- Learning: anomaly.LEARN (7 days) from the first secret read the cluster
-- shows; afterwards a read with a value the user never used fires, once.
-- Nodes, control plane and kube-system controllers are not profiled.

local anomaly = require("anomaly")

return {
  type = "CredentialAccess:Kubernetes/AnomalousBehavior.SecretsAccessed",
  severity = "Medium",
  title = "Secrets read in a way new for this user",
  description = "A user read Kubernetes secrets from a namespace, network or client it had not used "
    .. "for that before, after kguard had watched the cluster's secret reads for its learning "
    .. "period. Secrets hold tokens, passwords and keys; a stolen credential exploring them "
    .. "usually looks different from the owner's routine. service.detection.anomaly lists what "
    .. "was new and what the user's baseline held.",
  remediation = "Ask the user (kubernetesUserDetails) whether the reads were theirs. If not, revoke "
    .. "the credential, rotate the secrets of the namespace named in the finding, and review what "
    .. "else the user did (the signals of an AttackSequence finding list it). If the new behaviour "
    .. "is legitimate nothing is needed: it is now part of the baseline.",
  match = {
    api = { "get secrets", "list secrets", "watch secrets" },
    success = true,
  },
  predicate = function(ev)
    if not anomaly.profiled(ev) then return nil end -- cheap: before any body work
    return anomaly.finding(anomaly.check(ev, "secrets", anomaly.common(ev)))
  end,
}
