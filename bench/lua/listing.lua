-- Product listing pages with the storefront's filters and sorts (BENCH_PATH_PREFIX: the shop's
-- "/api/v1/products?" or the raw-asyncpg baseline's "/products?", which runs the same SQL).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local prefix = os.getenv("BENCH_PATH_PREFIX")
local categories = common.lines("category_slugs.txt")
local shapes = {
  "category=%s&sort=price&limit=20",
  "category=%s&in_stock=true&limit=20",
  "category=%s&min_price=1500&max_price=6000&sort=name&limit=20",
  "sort=-price&limit=20&category=%s",
}
local n = 0

request = function()
  n = n + 1
  local category = categories[(n % #categories) + 1]
  return wrk.format("GET", prefix .. string.format(shapes[(n % #shapes) + 1], category))
end

setup, init, delay = common.setup, common.init, common.delay
done = common.report
