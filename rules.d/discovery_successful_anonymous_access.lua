-- Discovery:Kubernetes/SuccessfulAnonymousAccess
-- Fires when an unauthenticated caller (system:anonymous / system:unauthenticated) succeeds in a
-- discovery API call (catalog.discovery). Health endpoints are excluded.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Discovery:Kubernetes/SuccessfulAnonymousAccess",
  tactic = "discovery",
  caller = "anonymous",
  severity = "Medium",
  title = "Cluster enumerated without authentication",
  description = "A caller without credentials (system:anonymous) successfully listed or read pods, nodes, "
    .. "namespaces, workloads, services or RBAC objects, or asked which actions are permitted. Anyone who "
    .. "reaches the API server can map the cluster, and other anonymous permissions may exist beyond this one.",
  remediation = [[
1. Find what grants the access: `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated` and `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'`. Remove every binding that is not required; clusters upgraded from before Kubernetes 1.14 may still bind system:discovery and system:basic-user to system:unauthenticated.
2. Make sure the API server does not run with --authorization-mode=AlwaysAllow, and turn off anonymous authentication (--anonymous-auth=false) or, where supported, limit it to the health endpoints.
3. Search the audit log for other requests by system:anonymous from these sourceIPs, including writes, and block the addresses at the network edge.]],
})
