-- Impact:Kubernetes/SuccessfulAnonymousAccess
-- Fires when an unauthenticated caller (system:anonymous / system:unauthenticated) succeeds in an
-- impact API call (catalog.impact). Health endpoints are excluded.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Impact:Kubernetes/SuccessfulAnonymousAccess",
  tactic = "impact",
  caller = "anonymous",
  severity = "High",
  title = "Workloads or data deleted or changed without authentication",
  description = "A caller without credentials (system:anonymous) successfully deleted workloads, services, "
    .. "namespaces, volumes, config maps or secrets, or modified or rescaled a workload. Anyone who reaches "
    .. "the API server can apparently disrupt or destroy what runs on this cluster.",
  remediation = [[
1. Close the hole first: `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'` shows the grants and `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated` what they allow. Remove every binding that is not required.
2. Make sure the API server does not run with --authorization-mode=AlwaysAllow, and turn off anonymous authentication (--anonymous-auth=false) or, where supported, limit it to the health endpoints.
3. Repair the damage on the object named in the finding (resource, namespace, resourceName): re-create deleted objects from source control or backups, check replica counts and images of modified workloads (`kubectl get deploy,ds,sts,rs -A -o wide`), and restore volume data from snapshots where a reclaim policy of Delete removed it.
4. Search the audit log for other requests by system:anonymous from these sourceIPs and block the addresses at the network edge.]],
})
