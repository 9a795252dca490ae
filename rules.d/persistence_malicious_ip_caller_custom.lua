-- Persistence:Kubernetes/MaliciousIPCaller.Custom
-- Fires when a caller (authenticated or anonymous) makes a persistence API call (catalog.persistence) from an IP on
-- a user-supplied threat list (--threat-list NAME=FILE).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Persistence:Kubernetes/MaliciousIPCaller.Custom",
  tactic = "persistence",
  caller = "custom",
  severity = "Medium",
  title = "Foothold set up from an address on a user-supplied threat list",
  description = "A caller, calling from an IP address on one of your own threat lists, created "
    .. "or changed cron jobs or role bindings, or created daemon sets, service accounts, service-account "
    .. "tokens or mutating webhook configurations. Such objects can keep an intruder in the cluster after the "
    .. "original access is removed.",
  remediation = [[
1. See which of your lists matched in service.additionalInfo.threatListName and confirm the entry is still current; addresses change hands.
2. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails, and ask the owner whether the change was theirs. If not, revoke the identity (IAM mapping or access entry and keys, client certificate, or service account). If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
3. Remove what was planted: compare `kubectl get cronjobs,daemonsets,serviceaccounts -A`, `kubectl get rolebindings,clusterrolebindings -A -o wide` and `kubectl get mutatingwebhookconfigurations` with source control and delete unknown objects. Deleting a service account also invalidates the tokens issued for it.
4. Search the audit log for other requests by this user or from these sourceIPs, and block the address at the network edge.]],
})
