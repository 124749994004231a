-- A storefront session mix: 80% browsing (detail, listing, search), 15% cart, 5% checkout.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local orders = dofile(os.getenv("BENCH_LUA_DIR") .. "/orders.lua")
local products = common.lines("product_ids.txt")
local categories = common.lines("category_slugs.txt")
local queries = common.lines("search_queries.txt")
local n = 0

setup, init, delay = common.setup, common.init, common.delay
response = common.count_status

local function pick(items)
  return items[math.random(#items)]
end

request = function()
  n = n + 1
  local roll = math.random(100)
  if roll <= 50 then
    -- Most detail views are of the popular products, some of the long tail.
    local id = (math.random(10) <= 8) and products[math.random(100)] or pick(products)
    return wrk.format("GET", "/api/v1/products/" .. id)
  elseif roll <= 70 then
    return wrk.format("GET", "/api/v1/products?limit=20&sort=price&category=" .. pick(categories))
  elseif roll <= 80 then
    return wrk.format("GET", "/api/v1/products?limit=20&q=" .. pick(queries))
  elseif roll <= 95 then
    return orders.add_to_cart(n)
  end
  return orders.checkout(n)
end

done = common.report
