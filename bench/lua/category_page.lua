-- One category's page sorted by price: the listing that the raw-asyncpg baseline also answers
-- with the same SQL (BENCH_PATH_PREFIX: the shop's "/api/v1/products?" or the baseline's "/listing?").
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local prefix = os.getenv("BENCH_PATH_PREFIX")
local categories = common.lines("category_slugs.txt")
local n = 0

setup, init, delay = common.setup, common.init, common.delay

request = function()
  n = n + 1
  return wrk.format("GET", prefix .. "limit=20&sort=price&category=" .. categories[(n % #categories) + 1])
end

done = common.report
