-- Product detail, cache hit: a hundred popular products asked for again and again.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local prefix = os.getenv("BENCH_PATH_PREFIX")
local ids = common.lines("product_ids.txt")
local hot = math.min(100, #ids)
local n = 0

request = function()
  n = n + 1
  return wrk.format("GET", prefix .. ids[(n % hot) + 1])
end

setup, init, delay = common.setup, common.init, common.delay
done = common.report
