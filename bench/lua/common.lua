-- Shared by every scenario: read a list file, and report the run as one JSON line.
local common = {}

function common.lines(name)
  local items = {}
  for line in io.lines(os.getenv("BENCH_DATA_DIR") .. "/" .. name) do
    items[#items + 1] = line
  end
  return items
end

function common.report(summary, latency)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end

return common
