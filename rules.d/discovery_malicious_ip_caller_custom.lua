-- Discovery:Kubernetes/MaliciousIPCaller.Custom
-- Fires when a caller (authenticated or anonymous) makes a discovery API call (catalog.discovery) from an IP on
-- a user-supplied threat list (--threat-list NAME=FILE).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Discovery:Kubernetes/MaliciousIPCaller.Custom",
  tactic = "discovery",
  caller = "custom",
  severity = "Medium",
  title = "Cluster enumerated from an address on a user-supplied threat list",
  description = "A caller, calling from an IP address on one of your own threat lists, listed "
    .. "or read pods, nodes, namespaces, workloads, services or RBAC objects, or asked which actions are "
    .. "permitted. Reconnaissance from a flagged address often precedes credential theft or code execution.",
  remediation = [[
1. See which of your lists matched in service.additionalInfo.threatListName and confirm the entry is still current; addresses change hands.
2. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails, and ask the owner whether the call was theirs. If not, revoke the identity (IAM mapping or access entry and keys, client certificate, or service account). If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
3. Check how much the user could see and do (`kubectl auth can-i --list --as=<username>` per namespace) and reduce its roles to what it needs.
4. Nothing was changed by this call, so look at what came next: requests by the same user or from these sourceIPs to secrets, pods/exec, new workloads or new bindings.
5. Block the address at the network edge.]],
})
