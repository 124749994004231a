-- Shared by every scenario: read a list file, tally statuses, and report the run as one JSON line.
local common = {}
local threads = {}

function common.lines(name)
  local items = {}
  for line in io.lines(os.getenv("BENCH_DATA_DIR") .. "/" .. name) do
    items[#items + 1] = line
  end
  return items
end

-- Numbers each thread (its `slot`) and keeps it, so `done` can add up what the threads counted.
function common.setup(thread)
  thread:set("slot", #threads)
  threads[#threads + 1] = thread
end

-- A scenario that counts its statuses sets `response = common.count_status`; wrk then hands
-- every response to Lua, which costs the generator a little CPU.
function common.count_status(status)
  local key = "status_" .. status
  statuses[key] = (statuses[key] or 0) + 1
end

function common.init()
  statuses = {}
end

-- An open-loop pace: with BENCH_RATE set (requests/s over all connections), each connection
-- waits so the total stays near that rate; p99 "at half the peak" is measured this way.
function common.delay()
  local rate = tonumber(os.getenv("BENCH_RATE") or "0")
  if rate <= 0 then
    return 0
  end
  local connections = tonumber(os.getenv("BENCH_CONNECTIONS"))
  return math.random(0, math.floor(2000 * connections / rate))
end

local function status_counts()
  local totals = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    if counts then
      for key, value in pairs(counts) do
        totals[key] = (totals[key] or 0) + value
      end
    end
  end
  local parts = {}
  for key, value in pairs(totals) do
    parts[#parts + 1] = string.format('"%s": %d', key, value)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function common.report(summary, latency)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"statuses": %s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout, status_counts()))
end

return common
