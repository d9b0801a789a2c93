/**
 * Run-time overrides change in one atomic step with their index entry (KEYS[1] the override
 * key, KEYS[2] the index hash), so a PUT on one instance racing a DELETE on another leaves
 * either both or neither: the listing is what the decisions apply.
 */

/** ARGV: value, index field, index JSON, px ('' for none). */
export const overrideSetLua = `
if ARGV[4] == '' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`;

/** ARGV: index field. Returns how many of the two were there. */
export const overrideDeleteLua = `
return redis.call('DEL', KEYS[1]) + redis.call('HDEL', KEYS[2], ARGV[1])
`;

/**
 * KEYS[1] the index. ARGV[1]: now in ms since the epoch, or '-' for the server's clock (as the
 * decisions use). Drops the entries whose override has expired (the decisions no longer apply
 * them; their keys expire on their own) and returns the rest as field, JSON, field, JSON, ….
 */
export const overrideListLua = `
local now
if ARGV[1] == '-' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local ok, o = pcall(cjson.decode, all[i + 1])
  local untl = ok and type(o) == 'table' and tonumber(o.expiresAt) or nil
  if untl ~= nil and untl <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out
`;

/**
 * Compare-and-set of one state (KEYS[1]), for carrying states over at a reload: ARGV[1] the
 * value read, ARGV[2] its replacement ('' deletes), ARGV[3] its TTL in ms. A state a decision
 * changed since it was read is left alone (it is read again). Returns 1 when written.
 */
export const stateCasLua = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`;
