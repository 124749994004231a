-- Checkout: customers each order one unit of a random in-stock variant, each with its own
-- Idempotency-Key. A variant that runs out answers 409 insufficient_stock, which is expected.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local orders = dofile(os.getenv("BENCH_LUA_DIR") .. "/orders.lua")
local n = 0

setup, init, delay = common.setup, common.init, common.delay
response = common.count_status

request = function()
  n = n + 1
  return orders.checkout(n)
end

done = common.report
