-- Product listing pages with the storefront's filters and sorts.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local categories = common.lines("category_slugs.txt")
local shapes = {
  "/api/v1/products?category=%s&sort=price&limit=20",
  "/api/v1/products?category=%s&in_stock=true&limit=20",
  "/api/v1/products?category=%s&min_price=1500&max_price=6000&sort=name&limit=20",
  "/api/v1/products?sort=-price&limit=20&category=%s",
}
local n = 0

request = function()
  n = n + 1
  local category = categories[(n % #categories) + 1]
  return wrk.format("GET", string.format(shapes[(n % #shapes) + 1], category))
end

setup, init, delay = common.setup, common.init, common.delay
done = common.report
