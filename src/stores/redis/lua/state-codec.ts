/**
 * Lua side of ../state-codec.ts: a state is stored as little-endian doubles, then its key's deadline. struct.pack and
 * struct.unpack cost about a tenth of %.17g printing and gmatch parsing, and are exact.
 */
export const stateCodecLua = `
-- struct passes values on the Lua stack, so long states (a sliding log) go in chunks.
local CHUNK = 128
local FMT = {}
local function doubles(n)
  local f = FMT[n]
  if f == nil then f = '<' .. string.rep('d', n); FMT[n] = f end
  return f
end
-- Most states are one to three numbers: those skip the table-of-returns and format lookup.
local function unpack_state(s)
  if not s then return nil end
  local len = #s
  if len == 16 then local a, b = struct.unpack('<dd', s); return { a, b } end
  if len == 8 then local a = struct.unpack('<d', s); return { a } end
  if len == 24 then local a, b, c = struct.unpack('<ddd', s); return { a, b, c } end
  local n = len / 8
  if n == 0 then return nil end
  if n % 1 ~= 0 then error('sluice: a stored state is not in format 2') end
  if n <= CHUNK then
    local t = { struct.unpack(doubles(n), s) }
    t[n + 1] = nil -- the position struct.unpack returns last
    return t
  end
  local t, i, pos = {}, 0, 1
  while i < n do
    local m = math.min(CHUNK, n - i)
    local part = { struct.unpack(doubles(m), s, pos) }
    for j = 1, m do t[i + j] = part[j] end
    i = i + m; pos = part[m + 1]
  end
  return t
end
local function pack_state(t)
  local n = #t
  if n == 2 then return struct.pack('<dd', t[1], t[2]) end
  if n == 1 then return struct.pack('<d', t[1]) end
  if n == 3 then return struct.pack('<ddd', t[1], t[2], t[3]) end
  if n <= CHUNK then return struct.pack(doubles(n), unpack(t)) end
  local parts, i = {}, 0
  while i < n do
    local m = math.min(CHUNK, n - i)
    parts[#parts + 1] = struct.pack(doubles(m), unpack(t, i + 1, i + m))
    i = i + m
  end
  return table.concat(parts)
end
-- A stored value is the state's doubles and one more: its key's deadline (see write in
-- transaction.ts). Returns the state (nil for none) and the deadline.
local function decode_stored(s)
  if not s then return nil, nil end
  local len = #s
  if len == 24 then local a, b, d = struct.unpack('<ddd', s); return { a, b }, d end
  if len == 16 then local a, d = struct.unpack('<dd', s); return { a }, d end
  if len == 32 then local a, b, c, d = struct.unpack('<dddd', s); return { a, b, c }, d end
  local t = unpack_state(s)
  if t == nil then return nil, nil end
  local n = #t
  local d = t[n]
  t[n] = nil
  if n == 1 then return nil, d end
  return t, d
end
local function encode_stored(t, d)
  local n = #t
  if n == 2 then return struct.pack('<ddd', t[1], t[2], d) end
  if n == 1 then return struct.pack('<dd', t[1], d) end
  if n == 3 then return struct.pack('<dddd', t[1], t[2], t[3], d) end
  return pack_state(t) .. struct.pack('<d', d)
end
`;
