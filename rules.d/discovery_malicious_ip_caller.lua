-- Discovery:Kubernetes/MaliciousIPCaller
-- Fires when a caller (authenticated or anonymous) makes a discovery API call (catalog.discovery) from an IP on
-- the known-malicious list (--malicious-ips).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Discovery:Kubernetes/MaliciousIPCaller",
  tactic = "discovery",
  caller = "malicious",
  severity = "Medium",
  title = "Cluster enumerated from a known malicious IP address",
  description = "A caller, calling from an IP address on the known-malicious threat list, "
    .. "listed or read pods, nodes, namespaces, workloads, services or RBAC objects, or asked which actions "
    .. "are permitted. Valid credentials used for reconnaissance from such an address are likely stolen.",
  remediation = [[
1. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails; the matching address and list are in service.additionalInfo. If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
2. Confirm with the owner whether the call was theirs. If not, revoke the identity: IAM mapping or access entry and access keys, client certificate, or service account (delete and re-create it so its tokens stop working).
3. Check how much the user could see and do (`kubectl auth can-i --list --as=<username>` per namespace) and reduce its roles to what it needs.
4. Nothing was changed by this call, so look at what came next: requests by the same user or from these sourceIPs to secrets, pods/exec, new workloads or new bindings.
5. Block the address at the network edge and restrict API server access to known CIDRs.]],
})
