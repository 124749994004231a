-- Full-text search: words, two-word queries and the odd typo
-- (BENCH_PATH_PREFIX: the shop's "/api/v1/products?" or the baseline's "/search?").
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local prefix = os.getenv("BENCH_PATH_PREFIX")
local queries = common.lines("search_queries.txt")
local n = 0

setup, init, delay = common.setup, common.init, common.delay

request = function()
  n = n + 1
  return wrk.format("GET", prefix .. "limit=20&q=" .. queries[(n % #queries) + 1])
end

done = common.report
