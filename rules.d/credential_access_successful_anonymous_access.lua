-- CredentialAccess:Kubernetes/SuccessfulAnonymousAccess
-- Fires when an unauthenticated caller (system:anonymous / system:unauthenticated) succeeds in a
-- credential-access API call (catalog.credential_access). Health endpoints are excluded.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "CredentialAccess:Kubernetes/SuccessfulAnonymousAccess",
  tactic = "credential_access",
  caller = "anonymous",
  severity = "High",
  title = "Credentials read or requested without authentication",
  description = "A caller without credentials (system:anonymous) successfully made a Kubernetes API call that "
    .. "reads secrets or config maps, requests a service-account token or submits a certificate signing "
    .. "request. Anyone who can reach the API server can apparently do the same, so the credentials involved "
    .. "must be considered public.",
  remediation = [[
1. Find what grants the access: `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated` and `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'`. Remove every binding that is not required; clusters upgraded from before Kubernetes 1.14 may still bind system:discovery and system:basic-user to system:unauthenticated.
2. Make sure the API server does not run with --authorization-mode=AlwaysAllow, and turn off anonymous authentication (--anonymous-auth=false) or, where supported, limit it to the health endpoints.
3. Rotate every secret and config-map credential that was readable anonymously, deny pending CSRs (`kubectl get csr`), and delete tokens or service accounts obtained through this access.
4. Search the audit log for other requests by system:anonymous from these sourceIPs and block the addresses at the network edge.]],
})
