-- Persistence:Kubernetes/MaliciousIPCaller
-- Fires when a caller (authenticated or anonymous) makes a persistence API call (catalog.persistence) from an IP on
-- the known-malicious list (--malicious-ips).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Persistence:Kubernetes/MaliciousIPCaller",
  tactic = "persistence",
  caller = "malicious",
  severity = "Medium",
  title = "Foothold set up from a known malicious IP address",
  description = "A caller, calling from an IP address on the known-malicious threat list, "
    .. "created or changed cron jobs or role bindings, or created daemon sets, service accounts, "
    .. "service-account tokens or mutating webhook configurations. An intruder holding stolen credentials "
    .. "uses such objects to stay in the cluster after those credentials are revoked.",
  remediation = [[
1. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails; the matching address and list are in service.additionalInfo. If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
2. Confirm with the owner whether the change was theirs. If not, revoke the identity: IAM mapping or access entry and access keys, client certificate, or service account (delete and re-create it so its tokens stop working).
3. Remove what was planted: compare `kubectl get cronjobs,daemonsets,serviceaccounts -A`, `kubectl get rolebindings,clusterrolebindings -A -o wide` and `kubectl get mutatingwebhookconfigurations` with source control and delete unknown objects. Deleting a service account also invalidates the tokens issued for it.
4. Search the audit log for all other requests by this user or from these sourceIPs and reverse unwanted changes.
5. Block the address at the network edge and restrict API server access to known CIDRs.]],
})
