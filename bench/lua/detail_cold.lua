-- Product detail, cache miss: every request asks for a product not asked for before
-- (each thread walks its own slice of the catalog; the cache is flushed before the run).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local prefix = os.getenv("BENCH_PATH_PREFIX")
local ids = common.lines("product_ids.txt")
local position

setup, delay = common.setup, common.delay

init = function()
  common.init()
  position = slot * 100000
end

request = function()
  position = position + 1
  return wrk.format("GET", prefix .. ids[(position % #ids) + 1])
end

done = common.report
