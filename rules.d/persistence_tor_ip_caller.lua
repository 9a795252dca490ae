-- Persistence:Kubernetes/TorIPCaller
-- Fires when a persistence API call (catalog.persistence) comes from an IP on the
-- Tor exit list (--tor-exits). Anonymous callers fire too.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Persistence:Kubernetes/TorIPCaller",
  tactic = "persistence",
  caller = "tor",
  severity = "Medium",
  title = "Foothold set up from a Tor exit node",
  description = "A Kubernetes API call that creates or changes cron jobs or role bindings, or creates daemon "
    .. "sets, service accounts, service-account tokens or mutating webhook configurations, came from a Tor "
    .. "exit node. These objects let an intruder keep access after the first way in is closed.",
  remediation = [[
1. Identify the caller in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails.
2. If the username is system:anonymous, anonymous write access is open: list what it may do with `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`, find the grants with `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'` and remove them.
3. Otherwise treat the identity as stolen and revoke it: IAM mapping or access entry and access keys, client certificate, or service account (delete and re-create it so its tokens stop working).
4. Remove what was planted: compare `kubectl get cronjobs,daemonsets,serviceaccounts -A`, `kubectl get rolebindings,clusterrolebindings -A -o wide` and `kubectl get mutatingwebhookconfigurations` with source control and delete unknown objects. Deleting a service account also invalidates the tokens issued for it.
5. Drop Tor exit addresses in front of the API server, or restrict the endpoint to known CIDRs (on EKS: publicAccessCidrs or a private endpoint).]],
})
