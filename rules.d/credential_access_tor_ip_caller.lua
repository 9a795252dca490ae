-- CredentialAccess:Kubernetes/TorIPCaller
-- Fires when a credential-access API call (catalog.credential_access) comes from an IP on the
-- Tor exit list (--tor-exits). Anonymous callers fire too.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "CredentialAccess:Kubernetes/TorIPCaller",
  tactic = "credential_access",
  caller = "tor",
  severity = "High",
  title = "Credentials read or requested from a Tor exit node",
  description = "A Kubernetes API call that reads secrets or config maps, requests a service-account token "
    .. "or submits a certificate signing request came from a Tor exit node. Tor conceals where the caller "
    .. "really is, so credential gathering through it points to someone collecting keys and passwords for "
    .. "this cluster while hiding their identity.",
  remediation = [[
1. Identify the caller in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails. Ask the owner whether they use Tor; legitimate operators almost never do.
2. If the username is system:anonymous, anonymous access is open as well: list what it may do with `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated` and find the grants with `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'`; remove those that are not needed.
3. Otherwise treat the identity as stolen: remove its IAM mapping or access entry and deactivate its access keys, reissue its client certificate, or delete and re-create the service account so its tokens stop working.
4. Rotate every secret and config-map credential the call could reach (see requestUri, namespace and resourceName). Check `kubectl get csr` for requests made by this user: deny pending ones, and note that a certificate already issued stays valid until it expires.
5. Drop Tor exit addresses in front of the API server, or restrict the endpoint to known CIDRs (on EKS: publicAccessCidrs or a private endpoint).]],
})
