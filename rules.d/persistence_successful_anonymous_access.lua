-- Persistence:Kubernetes/SuccessfulAnonymousAccess
-- Fires when an unauthenticated caller (system:anonymous / system:unauthenticated) succeeds in a
-- persistence API call (catalog.persistence). Health endpoints are excluded.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Persistence:Kubernetes/SuccessfulAnonymousAccess",
  tactic = "persistence",
  caller = "anonymous",
  severity = "High",
  title = "Foothold set up without authentication",
  description = "A caller without credentials (system:anonymous) successfully created or changed cron jobs "
    .. "or role bindings, or created daemon sets, service accounts, service-account tokens or mutating "
    .. "webhook configurations. Anyone who reaches the API server can plant lasting access, including "
    .. "bindings that hand out more privileges.",
  remediation = [[
1. Close the hole first: `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'` shows the grants and `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated` what they allow. Remove every binding that is not required.
2. Make sure the API server does not run with --authorization-mode=AlwaysAllow, and turn off anonymous authentication (--anonymous-auth=false) or, where supported, limit it to the health endpoints.
3. Remove what was planted: compare `kubectl get cronjobs,daemonsets,serviceaccounts -A`, `kubectl get rolebindings,clusterrolebindings -A -o wide` and `kubectl get mutatingwebhookconfigurations` with source control and delete unknown objects. Deleting a service account also invalidates the tokens issued for it.
4. Search the audit log for other requests by system:anonymous from these sourceIPs and block the addresses at the network edge.]],
})
