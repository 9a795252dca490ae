-- Attack (item 3, config): an endless xpcall message handler (Lua runs it with hooks off).
-- expect: refused (instruction budget|time limit)
xpcall(function() while true do end end, function() while true do end end)
return { cluster = "demo" }
