/** Lua twin of src/algorithms/fixed-window.ts. State: {windowStart, count}. */
export const fixedWindowLua = `
local function fixed_window(state, now, cost, p, mode)
  local start = math.floor(now / p.windowMs) * p.windowMs
  local count = 0
  if state and state[1] >= start then count = state[2] end
  local reset = start + p.windowMs - now
  if mode == 'r' then
    local nxt = math.max(0, count - cost)
    local st = nil
    if nxt > 0 then st = { start, nxt } end
    return true, math.max(0, p.limit - nxt), reset, 0, st
  end
  local fits = count + cost <= p.limit
  local nxt = count
  if mode == 'f' or (fits and mode == 't') then nxt = count + cost end
  local retry = 0
  if not fits then retry = reset end
  local st = nil
  if nxt > 0 then st = { start, nxt } end
  return fits, math.max(0, p.limit - nxt), reset, retry, st
end
local function fixed_window_expires(state, p)
  return state[1] + p.windowMs
end
local function fixed_window_ahead(state, now, p)
  return state[1] > math.floor(now / p.windowMs) * p.windowMs
end
`;
