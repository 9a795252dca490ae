-- Attack (item 3, config): table.move over 2^40 elements in one C call.
-- expect: refused instruction budget
local t = {}
table.move(t, 1, 2^40, 2)
return { cluster = "demo" }
