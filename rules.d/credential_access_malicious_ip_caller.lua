-- CredentialAccess:Kubernetes/MaliciousIPCaller
-- Fires when a caller (authenticated or anonymous) makes a credential-access API call (catalog.credential_access)
-- from an IP on the known-malicious list (--malicious-ips).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "CredentialAccess:Kubernetes/MaliciousIPCaller",
  tactic = "credential_access",
  caller = "malicious",
  severity = "High",
  title = "Credentials read or requested from a known malicious IP address",
  description = "A caller made a Kubernetes API call that reads secrets or config maps, requests "
    .. "a service-account token or submits a certificate signing request, from an IP address on the "
    .. "known-malicious threat list. Valid credentials in use from such an address usually mean they were "
    .. "stolen, and the secrets obtained may unlock further systems.",
  remediation = [[
1. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails; the matching address and list are in service.additionalInfo. If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
2. Confirm with the owner whether the call was theirs. If not, revoke the identity: remove its IAM mapping or access entry and deactivate its access keys, reissue its client certificate, or delete and re-create the service account so its tokens stop working.
3. Rotate every secret and config-map credential the user could read (`kubectl auth can-i --list --as=<username>` per namespace shows the reach). Check `kubectl get csr` for requests made by this user: deny pending ones, and note that a certificate already issued stays valid until it expires.
4. Search the audit log for all other requests by this user or from these sourceIPs and reverse unwanted changes.
5. Block the address at the network edge and restrict API server access to known CIDRs.]],
})
