-- Checkout as a storefront drives it: a logged-in customer puts an item in the cart, then places
-- the order of the cart with a fresh Idempotency-Key. The two requests go pipelined on one
-- connection, so the order always follows its own cart addition; wrk counts both (the orders are
-- the 201s). Each thread has its own customers, many more than its connections, so no two
-- connections share a cart. A variant that runs out answers 409 insufficient_stock, as expected.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local orders = dofile(os.getenv("BENCH_LUA_DIR") .. "/orders.lua")
local n = 0

setup, init, delay = common.setup, common.init, common.delay
response = common.count_status

request = function()
  n = n + 1
  return orders.cart_then_order(n)
end

done = common.report
