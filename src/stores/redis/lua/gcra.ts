/** Lua twin of src/algorithms/gcra.ts. State: {tat}. */
export const gcraLua = `
local function gcra_result(allowed, tat, now, interval, tolerance, st, retry)
  local remaining = math.max(0, math.floor((tolerance - (tat - now)) / interval + 1e-9))
  return allowed, remaining, math.max(0, math.ceil(tat - now)), math.max(0, math.ceil(retry)), st
end
local function gcra(state, now, cost, p, mode)
  -- A limit of 0 admits nothing, for a window, with finite figures (as the TypeScript step).
  if not (p.limit > 0) then
    local st = nil
    if state then st = { state[1] } end
    if mode == 'r' then return true, 0, 0, 0, st end
    return false, 0, 0, p.windowMs, st
  end
  local interval = p.windowMs / p.limit
  local burst = p.burst
  if burst == nil then burst = p.limit end
  local tolerance = burst * interval
  local tat = now
  if state then tat = math.max(math.min(state[1], now + math.max(tolerance, p.windowMs)), now) end
  if mode == 'r' then
    local nxt = math.max(now, tat - cost * interval)
    local st = nil
    if nxt > now then st = { nxt } end
    return gcra_result(true, nxt, now, interval, tolerance, st, 0)
  end
  local newTat = tat + cost * interval
  local fits = newTat - now <= tolerance + 1e-9
  if mode == 'f' or (fits and mode == 't') then
    local retry = 0
    if not fits then retry = newTat - tolerance - now end
    return gcra_result(fits, newTat, now, interval, tolerance, { newTat }, retry)
  end
  local retry = 0
  if not fits then retry = newTat - tolerance - now end
  local st = nil
  if state and tat > now then st = { tat } end
  return gcra_result(fits, tat, now, interval, tolerance, st, retry)
end
local function gcra_expires(state, p)
  return state[1]
end
local function gcra_ahead(state, now, p)
  local interval = p.windowMs / p.limit
  local burst = p.burst
  if burst == nil then burst = p.limit end
  return state[1] > now + math.max(burst * interval, p.windowMs)
end
`;
