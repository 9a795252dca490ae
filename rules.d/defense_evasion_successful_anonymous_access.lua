-- DefenseEvasion:Kubernetes/SuccessfulAnonymousAccess
-- Fires when an unauthenticated caller (system:anonymous / system:unauthenticated) succeeds in a
-- defense-evasion API call (catalog.defense_evasion). Health endpoints are excluded.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "DefenseEvasion:Kubernetes/SuccessfulAnonymousAccess",
  tactic = "defense_evasion",
  caller = "anonymous",
  severity = "High",
  title = "Event records or cluster defenses changed without authentication",
  description = "A caller without credentials (system:anonymous) successfully deleted or edited events, "
    .. "removed or altered admission webhook configurations, or deleted network policies. Unauthenticated "
    .. "write access to these objects lets anyone who reaches the API server erase traces and disable "
    .. "the cluster's controls.",
  remediation = [[
1. Find what grants the access: `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated` and `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'`. Remove every binding that is not required.
2. Make sure the API server does not run with --authorization-mode=AlwaysAllow, and turn off anonymous authentication (--anonymous-auth=false) or, where supported, limit it to the health endpoints.
3. Restore what was changed: re-apply webhook configurations (`kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations`) and network policies (`kubectl get networkpolicies -A`) from source control and check the admission controller behind each webhook enforces again. Deleted events cannot be recovered; the audit log is now the record.
4. Search the audit log for other requests by system:anonymous from these sourceIPs and block the addresses at the network edge.]],
})
