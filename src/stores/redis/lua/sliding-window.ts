/** Lua twin of src/algorithms/sliding-window.ts. State: {currentWindowStart, previousCount, currentCount}. */
export const slidingWindowLua = `
local function sliding_window(state, now, cost, p, mode)
  local w = p.windowMs
  local start = math.floor(now / w) * w
  local prev, curr = 0, 0
  if state then
    if state[1] >= start then prev = state[2]; curr = state[3]
    elseif state[1] == start - w then prev = state[3] end
  end
  local overlap = 1 - (now - start) / w
  local function finish(allowed, pv, cv, retry)
    local used = pv * overlap + cv
    local reset = 0
    if cv > 0 then reset = start + 2 * w - now elseif pv > 0 then reset = start + w - now end
    local st = nil
    if pv > 0 or cv > 0 then st = { start, pv, cv } end
    return allowed, math.max(0, math.floor(p.limit - used + 1e-9)), reset, math.ceil(retry), st
  end
  if mode == 'r' then
    curr = math.max(0, curr - cost)
    return finish(true, prev, curr, 0)
  end
  local fits = (prev * overlap + curr) + cost <= p.limit + 1e-9
  if mode == 'f' or (fits and mode == 't') then curr = curr + cost end
  local retry = 0
  if not fits then
    local room = p.limit - curr - cost
    if room >= 0 and prev > 0 then
      local f = 1 - room / prev
      retry = math.max(1, start + f * w - now)
    else
      local nxt = start + w
      if cost > p.limit then retry = nxt - now
      else
        local f = 0
        if curr > 0 then f = math.max(0, 1 - (p.limit - cost) / curr) end
        retry = math.max(1, nxt + f * w - now)
      end
    end
  end
  return finish(fits, prev, curr, retry)
end
local function sliding_window_expires(state, p)
  return state[1] + 2 * p.windowMs
end
local function sliding_window_ahead(state, now, p)
  return state[1] > math.floor(now / p.windowMs) * p.windowMs
end
`;
