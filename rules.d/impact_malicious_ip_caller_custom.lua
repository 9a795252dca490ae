-- Impact:Kubernetes/MaliciousIPCaller.Custom
-- Fires when a caller (authenticated or anonymous) makes an impact API call (catalog.impact) from an IP on
-- a user-supplied threat list (--threat-list NAME=FILE).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Impact:Kubernetes/MaliciousIPCaller.Custom",
  tactic = "impact",
  caller = "custom",
  severity = "High",
  title = "Workloads or data deleted or changed from an address on a user-supplied threat list",
  description = "A caller, calling from an IP address on one of your own threat lists, deleted "
    .. "workloads, services, namespaces, volumes, config maps or secrets, or modified or rescaled a workload. "
    .. "This can mean an outage, lost data or hijacked compute.",
  remediation = [[
1. See which of your lists matched in service.additionalInfo.threatListName and confirm the entry is still current; addresses change hands.
2. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails, and ask the owner whether the change was theirs. If not, revoke the identity (IAM mapping or access entry and keys, client certificate, or service account). If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
3. Repair the damage on the object named in the finding (resource, namespace, resourceName): re-create deleted objects from source control or backups, check replica counts and images of modified workloads (`kubectl get deploy,ds,sts,rs -A -o wide`), and restore volume data from snapshots where a reclaim policy of Delete removed it.
4. Search the audit log for other requests by this user or from these sourceIPs, and block the address at the network edge.]],
})
