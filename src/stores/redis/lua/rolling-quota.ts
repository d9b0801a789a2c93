/** Lua twin of src/algorithms/rolling-quota.ts. State: {bucketStart1, weight1, ...} in time order. */
export const rollingQuotaLua = `
local function rq_width(p)
  local b = p.buckets
  if b == nil then b = 60 end
  return math.max(1, math.floor(p.windowMs / b))
end
local function rolling_quota(state, now, cost, p, mode)
  local width = rq_width(p)
  local current = math.floor(now / width) * width
  local live, n, used = {}, 0, 0
  if state then
    for i = 1, #state, 2 do
      local s = state[i]
      if s > current then s = current end
      if s + width + p.windowMs > now then
        if n >= 2 and live[n - 1] == s then live[n] = live[n] + state[i + 1]
        else live[n + 1] = s; live[n + 2] = state[i + 1]; n = n + 2 end
        used = used + state[i + 1]
      end
    end
  end
  local function finish(allowed, retry, b, bn)
    local total = 0
    for i = 2, bn, 2 do total = total + b[i] end
    local reset = 0
    if bn > 0 then reset = math.max(0, b[bn - 1] + width + p.windowMs - now) end
    local st = nil
    if bn > 0 then st = b end
    return allowed, math.max(0, p.limit - total), reset, math.max(0, math.ceil(retry)), st
  end
  if mode == 'r' then
    local left = cost
    local i = n - 1
    while i >= 1 and left > 0 do
      local take = math.min(left, live[i + 1])
      live[i + 1] = live[i + 1] - take
      left = left - take
      i = i - 2
    end
    local out, on = {}, 0
    for j = 1, n, 2 do
      if live[j + 1] > 0 then out[on + 1] = live[j]; out[on + 2] = live[j + 1]; on = on + 2 end
    end
    return finish(true, 0, out, on)
  end
  local fits = used + cost <= p.limit
  if mode == 'f' or (fits and mode == 't') then
    if n >= 2 and live[n - 1] == current then live[n] = live[n] + cost
    else live[n + 1] = current; live[n + 2] = cost; n = n + 2 end
  end
  local retry = 0
  if not fits then
    retry = p.windowMs + width
    local excess = used + cost - p.limit
    for i = 1, n, 2 do
      excess = excess - live[i + 1]
      if excess <= 0 then retry = live[i] + width + p.windowMs - now; break end
    end
  end
  return finish(fits, retry, live, n)
end
local function rolling_quota_expires(state, p)
  local n = #state
  if n > 0 then return state[n - 1] + rq_width(p) + p.windowMs end
  return 0
end
local function rolling_quota_ahead(state, now, p)
  local n = #state
  local width = rq_width(p)
  return n > 0 and state[n - 1] > math.floor(now / width) * width
end
`;
