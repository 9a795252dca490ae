-- DefenseEvasion:Kubernetes/MaliciousIPCaller
-- Fires when a caller (authenticated or anonymous) makes a defense-evasion API call (catalog.defense_evasion)
-- from an IP on the known-malicious list (--malicious-ips).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "DefenseEvasion:Kubernetes/MaliciousIPCaller",
  tactic = "defense_evasion",
  caller = "malicious",
  severity = "High",
  title = "Event records or cluster defenses changed from a known malicious IP address",
  description = "A caller, calling from an IP address on the known-malicious threat list, "
    .. "deleted or edited events, removed or altered admission webhook configurations, or deleted network "
    .. "policies. Erasing the activity trail or disabling controls from such an address suggests the account "
    .. "is in an attacker's hands.",
  remediation = [[
1. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails; the matching address and list are in service.additionalInfo. If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
2. Confirm with the owner whether the change was theirs. If not, revoke the identity: IAM mapping or access entry and access keys, client certificate, or service account (delete and re-create it so its tokens stop working).
3. Restore what was changed: re-apply webhook configurations (`kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations`) and network policies (`kubectl get networkpolicies -A`) from source control and check the admission controller behind each webhook enforces again. Deleted events cannot be recovered; the audit log is now the record.
4. Search the audit log for all other requests by this user or from these sourceIPs, especially just before this call, and reverse unwanted changes.
5. Block the address at the network edge and restrict API server access to known CIDRs.]],
})
