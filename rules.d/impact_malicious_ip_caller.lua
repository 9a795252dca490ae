-- Impact:Kubernetes/MaliciousIPCaller
-- Fires when a caller (authenticated or anonymous) makes an impact API call (catalog.impact) from an IP on
-- the known-malicious list (--malicious-ips).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Impact:Kubernetes/MaliciousIPCaller",
  tactic = "impact",
  caller = "malicious",
  severity = "High",
  title = "Workloads or data deleted or changed from a known malicious IP address",
  description = "A caller, calling from an IP address on the known-malicious threat list, "
    .. "deleted workloads, services, namespaces, volumes, config maps or secrets, or modified or rescaled a "
    .. "workload. This can mean an outage, lost data or hijacked compute, carried out with credentials that "
    .. "are probably stolen.",
  remediation = [[
1. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails; the matching address and list are in service.additionalInfo. If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
2. Confirm with the owner whether the change was theirs. If not, revoke the identity now: IAM mapping or access entry and access keys, client certificate, or service account (delete and re-create it so its tokens stop working).
3. Repair the damage on the object named in the finding (resource, namespace, resourceName): re-create deleted objects from source control or backups, check replica counts and images of modified workloads (`kubectl get deploy,ds,sts,rs -A -o wide`), and restore volume data from snapshots where a reclaim policy of Delete removed it.
4. Search the audit log for all other requests by this user or from these sourceIPs and reverse unwanted changes.
5. Block the address at the network edge and restrict API server access to known CIDRs.]],
})
