/** Lua twin of src/algorithms/concurrency.ts. State: {leaseExpiry1, leaseExpiry2, ...} ascending. */
export const concurrencyLua = `
local function concurrency(state, now, cost, p, mode)
  local live, n = {}, 0
  if state then
    local longest = now + p.windowMs
    for i = 1, #state do
      if state[i] > now then n = n + 1; live[n] = math.min(state[i], longest) end
    end
  end
  local function finish(allowed, retry)
    local reset = 0
    if n > 0 then reset = live[n] - now end
    local st = nil
    if n > 0 then st = live end
    return allowed, math.max(0, p.limit - n), reset, math.max(0, retry), st
  end
  if mode == 'r' then
    -- splice(0, min(cost, length)): drop the oldest leases (a fractional count truncates, as in JS)
    local k = math.floor(math.min(cost, n))
    if k > 0 then
      local kept = {}
      for i = k + 1, n do kept[i - k] = live[i] end
      live = kept; n = n - k
    end
    return finish(true, 0)
  end
  local fits = n + cost <= p.limit
  if mode == 'f' or (fits and mode == 't') then
    local i = 0
    while i < cost do n = n + 1; live[n] = now + p.windowMs; i = i + 1 end
  end
  local retry = 0
  if not fits then
    local mustExpire = math.ceil(n + cost - p.limit)
    if cost > p.limit or mustExpire > n then retry = p.windowMs
    else
      local t = live[mustExpire]
      if t == nil then retry = 0 / 0 else retry = t - now end
    end
  end
  return finish(fits, retry)
end
local function concurrency_expires(state, p)
  local n = #state
  if n > 0 then return state[n] end
  return 0
end
local function concurrency_ahead(state, now, p)
  local n = #state
  return n > 0 and state[n] > now + p.windowMs
end
`;
