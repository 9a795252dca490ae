-- Attack (item 3, config): a backtracking Lua pattern while the config is loaded.
-- expect: refused (instruction budget|time limit)
local s = string.rep("a", 5000)
local hit = s:find(".-.-.-.-.-b")
return { cluster = hit and "x" or "demo" }
