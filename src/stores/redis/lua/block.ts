/** Lua twin of src/algorithms/block.ts. State: {blockedUntil}. */
export const blockLua = `
local function block(state, now, cost, p, mode)
  local untl = 0
  if state and state[1] > now then untl = math.min(state[1], now + p.windowMs) end
  if mode == 'r' then return true, 1, 0, 0, nil end
  if mode == 'f' then
    local nxt = math.max(untl, now + p.windowMs)
    return untl == 0, 0, nxt - now, nxt - now, { nxt }
  end
  if untl > 0 then return false, 0, untl - now, untl - now, { untl } end
  return true, 1, 0, 0, nil
end
local function block_expires(state, p)
  return state[1]
end
local function block_ahead(state, now, p)
  return state[1] > now + p.windowMs
end
`;
