-- CredentialAccess:Kubernetes/MaliciousIPCaller.Custom
-- Fires when a caller (authenticated or anonymous) makes a credential-access API call (catalog.credential_access)
-- from an IP on a user-supplied threat list (--threat-list NAME=FILE).
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "CredentialAccess:Kubernetes/MaliciousIPCaller.Custom",
  tactic = "credential_access",
  caller = "custom",
  severity = "High",
  title = "Credentials read or requested from an address on a user-supplied threat list",
  description = "A caller made a Kubernetes API call that reads secrets or config maps, requests "
    .. "a service-account token or submits a certificate signing request, from an IP address on one of your "
    .. "own threat lists. Both the credentials used for the call and those it returned should be treated as "
    .. "exposed.",
  remediation = [[
1. See which of your lists matched in service.additionalInfo.threatListName and confirm the entry is still current; addresses change hands.
2. Identify the user in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails, and ask the owner whether the call was theirs. If the username is system:anonymous, there is no identity to revoke: the cluster answers unauthenticated requests, so list what anonymous may do (`kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`) and remove the bindings to system:anonymous or system:unauthenticated that grant it.
3. If not, revoke the identity: remove its IAM mapping or access entry and deactivate its access keys, reissue its client certificate, or delete and re-create the service account so its tokens stop working.
4. Rotate every secret and config-map credential the user could read. Check `kubectl get csr` for requests made by this user: deny pending ones, and note that a certificate already issued stays valid until it expires.
5. Search the audit log for other requests by this user or from these sourceIPs, and block the address at the network edge.]],
})
