-- An emulation of the rule sandbox described in the kguard contract, so the
-- Lua tests load rule files and lualib modules the way the C core will:
-- only the listed globals, no io/os/load/loadfile/dofile/debug/package, a
-- `require` that loads only lualib/ modules (require("a.b") -> lualib/a/b.lua),
-- and a `kguard` table.
--
-- sandbox.new{modules = {name = false | "lua source" | function}} returns a
-- fresh environment.  `modules` overrides lualib/ for the names given:
--   false     -> the module is reported missing ("module 'name' not found")
--   "source"  -> the module is loaded from that string (chunk name "=name")
--   function  -> called with the module name, its result is the module value
-- Paths are relative: run the tests from the project root.

local M = {}

local BASE = {
  "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
  "type", "xpcall", "rawequal", "rawget", "rawlen", "rawset", "setmetatable", "getmetatable",
}

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

function M.new(opts)
  opts = opts or {}
  local overrides = opts.modules or {}
  local env = {}
  for _, name in ipairs(BASE) do env[name] = _G[name] end
  env.string = copy(string)
  env.string.dump = nil
  env.table = copy(table)
  env.math = copy(math)
  env.utf8 = copy(utf8)
  local has_lpeg, lpeg = pcall(require, "lpeg")
  if has_lpeg then env.lpeg = lpeg end
  env.kguard = {
    log = function() end,
    ip_in = function() return false end,
  }
  env._G = env

  local loaded = {}
  env.require = function(name)
    if type(name) ~= "string" or not name:match("^[%w_]+[%w_.]*$")
        or name:find("..", 1, true) or name:sub(-1) == "." then
      error("bad module name " .. tostring(name), 2)
    end
    if loaded[name] ~= nil then return loaded[name] end
    local chunk
    local ov = overrides[name]
    if ov == false then
      error("module '" .. name .. "' not found:\n\tno file 'lualib/" .. name .. ".lua'", 0)
    elseif type(ov) == "string" then
      chunk = assert(load(ov, "=" .. name, "t", env))
    elseif type(ov) == "function" then
      chunk = ov
    else
      local path = "lualib/" .. name:gsub("%.", "/") .. ".lua"
      local fh = io.open(path, "r")
      if not fh then
        error("module '" .. name .. "' not found:\n\tno file '" .. path .. "'", 0)
      end
      fh:close()
      local err
      chunk, err = loadfile(path, "t", env)
      if not chunk then
        error("error loading module '" .. name .. "' from file '" .. path .. "':\n\t" .. err, 0)
      end
    end
    local value = chunk(name)
    if value == nil then value = true end
    loaded[name] = value
    return value
  end
  return env
end

-- Loads rules.d/FILE (or any path) in a fresh sandbox and runs it.
-- Returns true, value or false, error message.
function M.run_file(path, opts)
  local env = M.new(opts)
  local chunk, err = loadfile(path, "t", env)
  if not chunk then return false, err end
  return pcall(chunk)
end

return M
