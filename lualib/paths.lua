-- paths.lua: request paths that rules treat specially.
--
-- paths.health lists the API server's health and version endpoints.  These are
-- non-resource URLs that a stock cluster opens to everyone: the default
-- ClusterRole system:public-info-viewer, bound to system:authenticated and
-- system:unauthenticated, allows GET on them so that load balancers, kubelets,
-- liveness/readiness probes and `kubectl version` work without credentials.
-- An anonymous, successful request to them is routine traffic, not an attack,
-- so the SuccessfulAnonymousAccess rules exclude them (match.exclude_paths).
--
-- Coverage follows the contract's exclude_paths rule: an entry also covers
-- everything below it and any query string, so "/healthz" covers
-- "/healthz/etcd", "/livez/ping" is covered by "/livez", "/readyz?verbose" by
-- "/readyz", and "/version?timeout=32s" by "/version".  "/healthzfoo" is not
-- covered.
--
-- The API-tactic rules also require a "verb resource" match, which a
-- non-resource request never satisfies, so this exclusion is a second guard:
-- it keeps probe traffic out of anonymous-access findings even if a rule's
-- matching is widened later.
--
-- Helpers for predicates and tests:
--     paths.matches(request_uri, list) -> boolean  (the exclude_paths rule)
--     paths.is_health(request_uri)     -> boolean

local paths = {}

paths.health = { "/healthz", "/livez", "/readyz", "/version" }

function paths.matches(uri, list)
  if type(uri) ~= "string" then return false end
  for _, p in ipairs(list) do
    if uri == p then return true end
    if uri:sub(1, #p) == p then
      local nextc = uri:sub(#p + 1, #p + 1)
      if nextc == "/" or nextc == "?" then return true end
    end
  end
  return false
end

function paths.is_health(uri)
  return paths.matches(uri, paths.health)
end

return paths
