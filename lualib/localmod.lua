-- localmod.lua: optional local extensions of shipped modules.
--
-- `localmod.load(name)` requires lualib/<name>.lua when it exists and
-- returns its value, or nil when there is no such module.  Only "not found"
-- is swallowed: a local module that exists but fails to load raises its own
-- error, so a broken extension is never silently ignored.
local localmod = {}

local function is_missing(err, name)
  return type(err) == "string"
    and (err:find("module '" .. name .. "' not found", 1, true) ~= nil
      or err:find('module "' .. name .. '" not found', 1, true) ~= nil)
end

function localmod.load(name)
  local ok, value = pcall(require, name)
  if ok then return value end
  if not is_missing(value, name) then error(value, 0) end
  return nil
end

return localmod
