-- Impact:Kubernetes/TorIPCaller
-- Fires when an impact API call (catalog.impact) comes from an IP on the
-- Tor exit list (--tor-exits). Anonymous callers fire too.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Impact:Kubernetes/TorIPCaller",
  tactic = "impact",
  caller = "tor",
  severity = "High",
  title = "Workloads or data deleted or changed from a Tor exit node",
  description = "A Kubernetes API call that deletes workloads, services, namespaces, volumes, config maps or "
    .. "secrets, or modifies or rescales deployments, daemon sets, stateful sets or replica sets, came from a "
    .. "Tor exit node. Such calls can take applications down, destroy data or turn the cluster's compute to "
    .. "someone else's use, and the anonymising network hides who did it.",
  remediation = [[
1. Identify the caller in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails.
2. If the username is system:anonymous, anonymous write access is open: list what it may do with `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`, find the grants with `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'` and remove them at once.
3. Otherwise treat the identity as stolen and revoke it: IAM mapping or access entry and access keys, client certificate, or service account (delete and re-create it so its tokens stop working).
4. Repair the damage on the object named in the finding (resource, namespace, resourceName): re-create deleted objects from source control or backups, check replica counts and images of modified workloads (`kubectl get deploy,ds,sts,rs -A -o wide`), and restore volume data from snapshots where a reclaim policy of Delete removed it.
5. Drop Tor exit addresses in front of the API server, or restrict the endpoint to known CIDRs (on EKS: publicAccessCidrs or a private endpoint).]],
})
