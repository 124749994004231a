-- Full-text search: words, two-word queries and the odd typo.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local queries = common.lines("search_queries.txt")
local n = 0

request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/products?limit=20&q=" .. queries[(n % #queries) + 1])
end

setup, init, delay = common.setup, common.init, common.delay
done = common.report
