/** Lua twin of src/algorithms/sliding-log.ts. State: {t1, cost1, t2, cost2, ...} in time order. */
export const slidingLogLua = `
local function sliding_log(state, now, cost, p, mode)
  local live, n, used = {}, 0, 0
  if state then
    for i = 1, #state, 2 do
      local t = state[i]
      if t > now then t = now end
      if t + p.windowMs > now then
        live[n + 1] = t; live[n + 2] = state[i + 1]; n = n + 2
        used = used + state[i + 1]
      end
    end
  end
  local function finish(allowed, retry)
    local total = 0
    for i = 2, n, 2 do total = total + live[i] end
    local newest
    if n > 0 then newest = live[n - 1] else newest = now - p.windowMs end
    local st = nil
    if n > 0 then st = live end
    return allowed, math.max(0, p.limit - total), math.max(0, newest + p.windowMs - now), math.max(0, retry), st
  end
  if mode == 'r' then
    local left = cost
    while left > 0 and n > 0 do
      local c = live[n]
      if c <= left then
        live[n] = nil; live[n - 1] = nil; n = n - 2
        left = left - c
      else
        live[n] = c - left
        left = 0
      end
    end
    return finish(true, 0)
  end
  local fits = used + cost <= p.limit
  if mode == 'f' or (fits and mode == 't') then
    if n >= 2 and live[n - 1] == now then live[n] = live[n] + cost
    else live[n + 1] = now; live[n + 2] = cost; n = n + 2 end
  end
  local retry = 0
  if not fits then
    if cost > p.limit then
      if n > 0 then retry = live[n - 1] + p.windowMs - now else retry = p.windowMs end
    else
      retry = p.windowMs
      local excess = used + cost - p.limit
      for i = 1, n, 2 do
        excess = excess - live[i + 1]
        if excess <= 0 then retry = live[i] + p.windowMs - now; break end
      end
    end
  end
  return finish(fits, retry)
end
local function sliding_log_expires(state, p)
  local n = #state
  if n > 0 then return state[n - 1] + p.windowMs end
  return 0
end
local function sliding_log_ahead(state, now, p)
  local n = #state
  return n > 0 and state[n - 1] > now
end
`;
