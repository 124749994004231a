-- What the checkout and mixed scenarios share: customers, orderable variants, one order request.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local orders = {}
local tokens = common.lines("customer_tokens.txt")
local variants = common.lines("variant_ids.txt")
local address = '{"full_name":"Bench Buyer","line1":"1 Load Street","city":"Berlin",' ..
  '"postal_code":"10115","country":"DE"}'

-- Each thread has its own customers, so no two threads ever share a cart.
function orders.customer(n)
  local per_thread = math.floor(#tokens / 2)
  return tokens[slot * per_thread + (n % per_thread) + 1]
end

function orders.variant()
  return variants[math.random(#variants)]
end

function orders.headers(token)
  return { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

-- A direct checkout of one unit, with a key no other request uses (distinct users, distinct keys).
function orders.checkout(n)
  local headers = orders.headers(orders.customer(n))
  headers["Idempotency-Key"] = string.format("bench-%d-%d-%d", slot, n, math.random(1e9))
  local body = '{"shipping_address":' .. address .. ',"items":[{"variant_id":"' .. orders.variant() ..
    '","quantity":1}]}'
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

-- One unit in the customer's cart, then the order of that cart, for one connection to pipeline.
function orders.cart_then_order(n)
  local token = orders.customer(n)
  local headers = orders.headers(token)
  local cart = wrk.format("PUT", "/api/v1/cart/items/" .. orders.variant(), headers, '{"quantity":1}')
  headers["Idempotency-Key"] = string.format("bench-cart-%d-%d-%d", slot, n, math.random(1e9))
  local order = wrk.format("POST", "/api/v1/orders", headers, '{"shipping_address":' .. address .. '}')
  return cart .. order
end

function orders.add_to_cart(n)
  return wrk.format("PUT", "/api/v1/cart/items/" .. orders.variant(), orders.headers(orders.customer(n)),
    '{"quantity":1}')
end

return orders
