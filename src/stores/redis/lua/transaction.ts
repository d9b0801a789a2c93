import { blockLua } from './block.js';
import { concurrencyLua } from './concurrency.js';
import { fixedWindowLua } from './fixed-window.js';
import { gcraLua } from './gcra.js';
import { rollingQuotaLua } from './rolling-quota.js';
import { slidingLogLua } from './sliding-log.js';
import { slidingWindowLua } from './sliding-window.js';

/** Algorithm codes shared by the encoder (../encode.ts) and the scripts. */
export const ALG_CODE = {
  'sliding-log': 1,
  'sliding-window': 2,
  'fixed-window': 3,
  gcra: 4,
  'rolling-quota': 5,
  concurrency: 6,
  block: 7,
} as const;

/** Every algorithm twin plus the shared state codec and dispatch tables. */
export const libraryLua = `
${slidingLogLua}
${slidingWindowLua}
${fixedWindowLua}
${gcraLua}
${rollingQuotaLua}
${concurrencyLua}
${blockLua}
local STEP = { sliding_log, sliding_window, fixed_window, gcra, rolling_quota, concurrency, block }
local EXPIRES = { sliding_log_expires, sliding_window_expires, fixed_window_expires, gcra_expires, rolling_quota_expires, concurrency_expires, block_expires }

-- States are stored as comma-separated numbers printed with 17 significant digits,
-- which read back as the very same doubles (in Lua and in JavaScript).
local function fmt(x) return string.format('%.17g', x) end
local function decode(s)
  if not s then return nil end
  local t, n = {}, 0
  for f in string.gmatch(s, '[^,]+') do n = n + 1; t[n] = tonumber(f) end
  if n == 0 then return nil end
  return t
end
local function encode(t)
  local parts = {}
  for i = 1, #t do parts[i] = fmt(t[i]) end
  return table.concat(parts, ',')
end
`;

/**
 * The transaction script: Lua's copy of runTransaction (src/stores/transaction.ts),
 * line by line, for a batch of independent transactions decided one after another in
 * one call (so the batch, and each transaction in it, is atomic).
 *
 * ARGV[1]  '1' to append each op's stored state to the reply (tests)
 * ARGV[2…] one string per transaction: "now,nkeys,nops" then, per op, "/spec;fields" where
 *   spec = "alg,limit,windowMs,burst,buckets" (the rule's parameters, parsed once per call) and
 *   fields = "keyIdx,cost,mode,flags" (short form) or, when the op has a block key, an
 *   override or a scale, "keyIdx,cost,mode,flags,blockKeyIdx,blockMs,ovLimit,ovWindow,
 *   scaleKind,attrKeyIdx,attrName,scaleValue"
 *   (now: ms since the epoch, or '-' for the Redis server's clock (TIME, read once per call);
 *    indices are 1-based within the transaction's own keys; '-' means none;
 *    flags: 1 shadow, 2 chargeRejected, 4 blockOnly, 8 look up a run-time override;
 *    scaleKind: '-' none, 'a' read attribute attrName of hash attrKeyIdx (scaleValue is the
 *    fallback), 'v' scaleValue is the factor, read by the caller)
 * Run-time overrides live at KEYS[keyIdx] .. ':o' (same hash slot): "limit,windowMs[,expiresAt]".
 *
 * Reply: { serverNow (or '-'), tx1, tx2, … }, txN = { allowed, blocked, limit, windowMs,
 * remaining, resetMs, retryAfterMs, … per op (integers, or exact strings when not integral),
 * then in debug mode each op's stored state }. where txN is "allowed,blocked,limit,windowMs,remaining,resetMs,retryAfterMs"
 * per op, joined by ';' (and, in debug mode, '|' and each op's state).
 */
export const transactionLua = `
${libraryLua}
-- Keys live this long past their window: 1 s on the server clock; a minute when the caller
-- supplies the clock (it may run ahead of real time, or be an injected test clock).
local SLACK = 1000
local serverNow = nil
local function server_now()
  if serverNow == nil then
    local t = redis.call('TIME')
    serverNow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return serverNow
end
local now = 0
local debug = ARGV[1] == '1'

local function read(k)
  return decode(redis.call('GET', k))
end
local function write(k, st, expiresAt)
  if st == nil or #st == 0 then
    redis.call('DEL', k)
  else
    -- Every key expires just past its window, so key cardinality stays bounded.
    local ttl = math.max(1, math.ceil(expiresAt - now)) + SLACK
    redis.call('SET', k, encode(st), 'PX', ttl)
  end
end
local function num(s)
  if s == '-' then return nil end
  return tonumber(s)
end

-- v: the op's run-time override (read together with its state), or false.
local function effective(op, keys, v)
  local o = nil
  if op.lookup then
    if v then
      local f = decode(v)
      if f[3] == nil or f[3] > now then o = { limit = f[1], windowMs = f[2] } end
    end
  end
  if o == nil and op.ovLimit ~= nil then o = { limit = op.ovLimit, windowMs = op.ovWindow } end
  if o then return { limit = o.limit, windowMs = o.windowMs, burst = nil, buckets = op.buckets } end
  if op.scaleKind == '-' then return op.params end
  local factor
  if op.scaleKind == 'v' then factor = op.scaleValue
  else
    factor = tonumber(redis.call('HGET', keys[op.attrKey], op.attrName))
    if factor == nil then factor = op.scaleValue end
  end
  local burst = nil
  if op.params.burst ~= nil then burst = op.params.burst * factor end
  return { limit = op.params.limit * factor, windowMs = op.params.windowMs, burst = burst, buckets = op.params.buckets }
end

local function run(ops, keys)
  local nops = #ops
  local results, nxt, hasNext, rej, hasRej = {}, {}, {}, {}, {}
  local admitted = true
  for i = 1, nops do
    local op = ops[i]
    -- One round inside Redis for the state and its override (same slot).
    local raw, ov = false, false
    if op.key ~= nil then
      if op.lookup then
        local both = redis.call('MGET', keys[op.key], keys[op.key] .. ':o')
        raw, ov = both[1], both[2]
      else
        raw = redis.call('GET', keys[op.key])
      end
    end
    local p = effective(op, keys, ov)
    local done = false
    if op.blockKey ~= nil and op.mode ~= 'f' and op.mode ~= 'r' then
      local b = read(keys[op.blockKey])
      if b and b[1] > now then
        results[i] = { false, true, p.limit, p.windowMs, 0, b[1] - now, b[1] - now }
        if not op.shadow then admitted = false end
        done = true
      end
    end
    if not done and op.key == nil then
      -- A block check standing alone (its counter lives in another slot): not blocked, so neutral.
      results[i] = { true, false, p.limit, p.windowMs, 0, 0, 0 }
      done = true
    end
    if not done then
      local state = decode(raw)
      local mode = op.mode
      if op.blockOnly then mode = 'p' end
      local step = STEP[op.alg]
      local ok, remaining, reset, retry, st = step(state, now, op.cost, p, mode)
      local allowed = ok
      if op.blockOnly then allowed = true end
      local ra = retry
      if allowed then ra = 0 end
      results[i] = { allowed, false, p.limit, p.windowMs, remaining, reset, ra }
      if mode ~= 'p' then nxt[i] = st; hasNext[i] = true end
      if mode == 't' and op.chargeRejected then
        if ok then rej[i] = st
        else
          local _a, _b, _c, _d, fst = step(state, now, op.cost, p, 'f')
          rej[i] = fst
        end
        hasRej[i] = true
      end
      if not allowed and not op.shadow then admitted = false end
    end
  end

  for i = 1, nops do
    local op = ops[i]
    local r = results[i]
    if not r[2] and op.key ~= nil then
      local mode = op.mode
      if op.blockOnly then mode = 'p' end
      local doWrite, st = false, nil
      if mode == 'f' or mode == 'r' then doWrite = hasNext[i]; st = nxt[i]
      elseif mode == 't' then
        if admitted then
          if r[1] then doWrite = hasNext[i]; st = nxt[i] end
        elseif op.chargeRejected then doWrite = hasRej[i]; st = rej[i] end
      end
      if doWrite then
        local expiresAt = 0
        if st ~= nil then
          expiresAt = EXPIRES[op.alg](st, { limit = r[3], windowMs = r[4], burst = op.params.burst, buckets = op.params.buckets })
        end
        write(keys[op.key], st, expiresAt)
      end
      -- A refusal (or, for outcome rules, an event past the limit) trips the block.
      if not r[1] and op.blockKey ~= nil and not op.shadow and mode ~= 'r' then
        local untl = now + op.blockMs
        write(keys[op.blockKey], { untl }, untl)
        r[6] = op.blockMs; r[7] = op.blockMs
        r[2] = true
      end
    end
  end
  return results
end

local function b2s(b) if b then return '1' end return '0' end

local reply = { '-' }
local keyBase = 0
-- Rule parameters repeat across a batch: parse each distinct "alg,limit,windowMs,burst,buckets" once.
local specs = {}
local function spec(s)
  local p = specs[s]
  if p == nil then
    local a, l, w, b, k = string.match(s, '^([^,]+),([^,]+),([^,]+),([^,]+),([^,]+)$')
    p = { alg = tonumber(a), limit = tonumber(l), windowMs = tonumber(w), burst = num(b), buckets = num(k) }
    specs[s] = p
  end
  return p
end
-- Integral numbers go back as integer replies; others as exact strings.
local function out(x)
  if x == math.floor(x) and x > -9007199254740992 and x < 9007199254740992 then return x end
  return fmt(x)
end
for t = 2, #ARGV do
  local a = ARGV[t]
  local nowS, nkeysS, nopsS = string.match(a, '^([^,/]+),(%d+),(%d+)')
  if nowS == '-' then now = server_now(); SLACK = 1000 else now = tonumber(nowS); SLACK = 60000 end
  local nkeys, nops = tonumber(nkeysS), tonumber(nopsS)
  local keys = {}
  for k = 1, nkeys do keys[k] = KEYS[keyBase + k] end
  keyBase = keyBase + nkeys
  local ops = {}
  local i = 0
  for st, dyn in string.gmatch(a, '/([^;]*);([^/]*)') do
    i = i + 1
    local p = spec(st)
    local f, nf = {}, 0
    for x in string.gmatch(dyn, '[^,]+') do nf = nf + 1; f[nf] = x end
    local flags = tonumber(f[4])
    local op = {
      key = num(f[1]),
      alg = p.alg,
      params = p,
      buckets = p.buckets,
      cost = tonumber(f[2]),
      mode = f[3],
      shadow = flags % 2 == 1,
      chargeRejected = math.floor(flags / 2) % 2 == 1,
      blockOnly = math.floor(flags / 4) % 2 == 1,
      lookup = math.floor(flags / 8) % 2 == 1,
      blockMs = 0,
      scaleKind = '-',
    }
    if nf > 4 then
      op.blockKey = num(f[5])
      op.blockMs = tonumber(f[6])
      op.ovLimit = num(f[7])
      op.ovWindow = num(f[8])
      op.scaleKind = f[9]
      op.attrKey = num(f[10])
      op.attrName = f[11]
      op.scaleValue = num(f[12])
    end
    ops[i] = op
  end
  local results = run(ops, keys)
  local o, n = {}, 0
  for i = 1, nops do
    local r = results[i]
    local a1, b1 = 0, 0
    if r[1] then a1 = 1 end
    if r[2] then b1 = 1 end
    o[n + 1] = a1; o[n + 2] = b1; o[n + 3] = out(r[3]); o[n + 4] = out(r[4]); o[n + 5] = out(r[5]); o[n + 6] = out(r[6]); o[n + 7] = out(r[7])
    n = n + 7
  end
  if debug then
    for i = 1, nops do
      local v = false
      if ops[i].key ~= nil then v = redis.call('GET', keys[ops[i].key]) end
      n = n + 1
      o[n] = v or ''
    end
  end
  reply[#reply + 1] = o
end
if serverNow ~= nil then reply[1] = fmt(serverNow) end
return reply
`;

/**
 * One algorithm step, for the differential tests against the TypeScript step functions.
 * ARGV: alg now cost mode limit windowMs burst buckets state ('' for none).
 * Reply: "allowed,remaining,resetMs,retryAfterMs|state|expiresAt".
 */
export const stepLua = `
${libraryLua}
local function num(s)
  if s == '-' or s == '' then return nil end
  return tonumber(s)
end
local alg = tonumber(ARGV[1])
local p = { limit = tonumber(ARGV[5]), windowMs = tonumber(ARGV[6]), burst = num(ARGV[7]), buckets = num(ARGV[8]) }
local state = nil
if ARGV[9] ~= '' then state = decode(ARGV[9]) end
local ok, remaining, reset, retry, st = STEP[alg](state, tonumber(ARGV[2]), tonumber(ARGV[3]), p, ARGV[4])
local a = '0'
if ok then a = '1' end
local s, e = '', ''
if st ~= nil then s = encode(st); e = fmt(EXPIRES[alg](st, p)) end
return a .. ',' .. fmt(remaining) .. ',' .. fmt(reset) .. ',' .. fmt(retry) .. '|' .. s .. '|' .. e
`;
