-- DefenseEvasion:Kubernetes/MaliciousIPCaller.Custom
-- Fires when a caller (authenticated or anonymous) makes a defense-evasion API call (catalog.defense_evasion)
-- from an IP on a user-supplied threat list (--threat-list NAME=FILE).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "DefenseEvasion:Kubernetes/MaliciousIPCaller.Custom",
  tactic = "defense_evasion",
  caller = "custom",
  severity = "High",
  title = "Event records or cluster defenses changed from an address on a user-supplied threat list",
  description = "A caller, calling from an IP address on one of your own threat lists, deleted "
    .. "or edited events, removed or altered admission webhook configurations, or deleted network policies. "
    .. "These calls hide earlier activity or weaken the cluster's controls.",
  remediation = [[
1. See which of your lists matched in service.additionalInfo.threatListName and confirm the entry is still current; addresses change hands.
2. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails, and ask the owner whether the change was theirs. If not, revoke the identity (IAM mapping or access entry and keys, client certificate, or service account). If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
3. Restore what was changed: re-apply webhook configurations (`kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations`) and network policies (`kubectl get networkpolicies -A`) from source control and check the admission controller behind each webhook enforces again. Deleted events cannot be recovered; the audit log is now the record.
4. Search the audit log for other requests by this user or from these sourceIPs, and block the address at the network edge.]],
})
