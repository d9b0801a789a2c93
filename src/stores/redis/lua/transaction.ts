import { blockLua } from './block.js';
import { concurrencyLua } from './concurrency.js';
import { fixedWindowLua } from './fixed-window.js';
import { gcraLua } from './gcra.js';
import { rollingQuotaLua } from './rolling-quota.js';
import { slidingLogLua } from './sliding-log.js';
import { slidingWindowLua } from './sliding-window.js';
import { stateCodecLua } from './state-codec.js';
import { STATE_SUFFIX } from '../keys.js';
import { ALGORITHM_NAMES, type AlgorithmName } from '../../../algorithms/index.js';

/** Each algorithm's Lua twin: Lua source defining its step `<name>` and `<name>_expires` (dashes as underscores). */
const TWINS: Readonly<Record<AlgorithmName, string>> = {
  'sliding-log': slidingLogLua,
  'sliding-window': slidingWindowLua,
  'fixed-window': fixedWindowLua,
  gcra: gcraLua,
  'rolling-quota': rollingQuotaLua,
  concurrency: concurrencyLua,
  block: blockLua,
};

const luaName = (a: AlgorithmName) => a.replace(/-/g, '_');

/** Algorithm codes shared by the encoder (../encode.ts) and the scripts: position in ALGORITHM_NAMES + 1. */
export const ALG_CODE = Object.fromEntries(ALGORITHM_NAMES.map((a, i) => [a, i + 1])) as Readonly<Record<AlgorithmName, number>>;

/** Every algorithm twin plus the state codec and the dispatch tables, indexed by ALG_CODE. */
export const libraryLua = `
${ALGORITHM_NAMES.map((a) => TWINS[a]).join('\n')}
${stateCodecLua}
local STEP = { ${ALGORITHM_NAMES.map(luaName).join(', ')} }
-- Whether a state holds stamps further ahead than a step at now could write (see Algorithm.ahead).
local AHEAD = { ${ALGORITHM_NAMES.map((a) => `${luaName(a)}_ahead`).join(', ')} }
local EXPIRES = { ${ALGORITHM_NAMES.map((a) => `${luaName(a)}_expires`).join(', ')} }
local function fmt(x) return string.format('%.17g', x) end
`;

/**
 * The transaction script: Lua's copy of runTransaction (src/stores/transaction.ts),
 * line by line, for a batch of independent transactions decided one after another in
 * one call (so the batch, and each transaction in it, is atomic).
 *
 * KEYS     each transaction's keys in turn: state keys (ending in '${STATE_SUFFIX}': packed doubles, then
 *          the key's deadline), whose run-time override is at the same name with ':o' in place
 *          of '${STATE_SUFFIX}' ("limit,windowMs[,expiresAt]", same hash slot); and attribute hashes
 * ARGV[1]  one char '1' to append each op's stored state to the reply (tests), else '0'; then
 *          optionally 'x': the last of KEYS is the override index (hash of every run-time
 *          override); while it does not exist, no op looks up an override (see overridesExist)
 * ARGV[2…] one string per transaction: "now,nkeys,nops" (and 'r': decide it as refused already,
 *   for the later slots of a multi-slot request another slot refused) then, per op, "/spec;fields" where
 *   spec = "alg,limit,windowMs,burst,buckets" (the rule's parameters, parsed once per call) and
 *   fields = "keyIdx,cost,mode,flags" (short form) or, when the op has a block key, an
 *   override or a scale, "keyIdx,cost,mode,flags,blockKeyIdx,blockMs,ovLimit,ovWindow,
 *   scaleKind,attrKeyIdx,attrName,scaleValue"
 *   (now: ms since the epoch, or '-' for the Redis server's clock (TIME, read once per call);
 *    indices are 1-based within the transaction's own keys; '-' means none;
 *    flags: 1 shadow, 2 chargeRejected, 4 blockOnly, 8 look up a run-time override;
 *    scaleKind: '-' none, 'a' read attribute attrName of hash attrKeyIdx (scaleValue is the
 *    fallback), 'v' scaleValue is the factor, read by the caller)
 *
 * Reply: { serverNow (an integer, or '-'), results }: results is one binary string, every
 * transaction's in turn, each per op 7 little-endian doubles (allowed, blocked, limit, windowMs,
 * remaining, resetMs, retryAfterMs), so a transaction of n ops takes n × 56 bytes. In debug mode
 * the reply is { serverNow, tx1, tx2, … }, one string per transaction: its results, then per op a
 * double n and the n doubles of its stored state. One bulk string per call costs the client one
 * decode where one per transaction cost a Buffer each (and 7 integers per op cost seven).
 */
/** The transaction's helpers (library-level state is declared here and reset by txMainLua at each call). */
const txHelpersLua = `
${libraryLua}
-- The override key of a state key. State keys come whole from the caller, so the common path
-- builds no key name.
local BASE_END = -${STATE_SUFFIX.length + 1}
local function override_key(k) return string.sub(k, 1, BASE_END) .. ':o' end
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
local serverClock = true
local debug = false
-- Run-time overrides are rare: while none exists, skip each op's lookup (an MGET of two keys,
-- and the ':o' name). setOverride writes the override before its index entry, and
-- deleteOverride removes both, so once either resolves every script call sees the change.
local overridesExist = true

local function read(k)
  return (decode_stored(redis.call('GET', k)))
end
-- Redis prints a number argument with %.17g (a third of a SET's cost); a batch repeats a few
-- TTLs, so each is printed once per call.
local pxText = {}
-- Writes a state (or deletes it: nil). Every key expires just past its window (its deadline,
-- now + ttl), so key cardinality stays bounded. The deadline is stored with the state: when a
-- write's deadline equals the one stored (oldDeadline; a window's changes only when it rolls
-- over), SET KEEPTTL leaves the key's expiry alone, which costs Redis a third less than PX.
-- Only on the server clock: a caller's clock may run slower than the one TTLs count in.
-- Returns the deadline written (nil: deleted).
local function write(k, st, expiresAt, oldDeadline)
  if st == nil or #st == 0 then
    redis.call('DEL', k)
    return nil
  end
  local ttl = math.max(1, math.ceil(expiresAt - now)) + SLACK
  local deadline = now + ttl
  if deadline == oldDeadline and serverClock then
    redis.call('SET', k, encode_stored(st, deadline), 'KEEPTTL')
    return deadline
  end
  local px = pxText[ttl]
  if px == nil then
    px = ttl
    if ttl < 1e15 then px = string.format('%d', ttl) end
    pxText[ttl] = px
  end
  redis.call('SET', k, encode_stored(st, deadline), 'PX', px)
  return deadline
end
local function num(s)
  if s == '-' then return nil end
  return tonumber(s)
end

-- A run-time override value, as setOverride writes it: its parameters while in force, else nil.
local function override_params(v, buckets)
  local l, w, e = string.match(v, '^([^,]+),([^,]+),?([^,]*)$')
  local untl = tonumber(e)
  if untl == nil or untl > now then return { limit = tonumber(l), windowMs = tonumber(w), burst = nil, buckets = buckets } end
  return nil
end

-- effectiveParams. v: the op's run-time override (read together with its state), or false.
local function effective(op, keys, v)
  if op.lookup and v then
    local o = override_params(v, op.buckets)
    if o then return o end
  end
  if op.ovLimit ~= nil then return { limit = op.ovLimit, windowMs = op.ovWindow, burst = nil, buckets = op.buckets } end
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

-- The parameters a written state expires by: the rule's, with the effective limit and window.
local function expiry_params(params, limit, windowMs)
  if limit == params.limit and windowMs == params.windowMs then return params end
  return { limit = limit, windowMs = windowMs, burst = params.burst, buckets = params.buckets }
end

-- refused: another part of the request (a Cluster slot decided before this one) refused it.
local function run(ops, keys, refused)
  local nops = #ops
  local results, nxt, hasNext, rej, hasRej, clamped = {}, {}, {}, {}, {}, {}
  -- Each op's key's stored deadline; after a write, the written one (two ops may share a key).
  local deadlines = {}
  local admitted = not refused
  for i = 1, nops do
    local op = ops[i]
    -- One round inside Redis for the state and its override (same slot).
    local raw, ov = false, false
    if op.key ~= nil then
      if op.lookup and overridesExist then
        local k = keys[op.key]
        local both = redis.call('MGET', k, override_key(k))
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
        -- A deadline more than a block ahead was stamped before the clock stepped back: clamped, and kept so.
        if b[1] > now + op.blockMs then
          local untl = now + op.blockMs
          write(keys[op.blockKey], { untl }, untl, nil)
        end
        local wait = math.min(b[1], now + op.blockMs) - now
        results[i] = { false, true, p.limit, p.windowMs, 0, wait, wait }
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
      local state, dl = decode_stored(raw)
      deadlines[op.key] = dl
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
      if state and AHEAD[op.alg](state, now, p) then
        local _a, _b, _c, _d, cst = step(state, now, op.cost, p, 'p')
        clamped[i] = { cst }
      end
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
      -- Nothing charged, but the state was stamped ahead of now: keep it clamped from now on.
      if not doWrite and clamped[i] then doWrite = true; st = clamped[i][1] end
      if doWrite then
        local expiresAt = 0
        if st ~= nil then expiresAt = EXPIRES[op.alg](st, expiry_params(op.params, r[3], r[4])) end
        deadlines[op.key] = write(keys[op.key], st, expiresAt, deadlines[op.key])
      end
      -- A refusal (or, for outcome rules, an event past the limit) trips the block.
      if not r[1] and op.blockKey ~= nil and not op.shadow and mode ~= 'r' then
        local untl = now + op.blockMs
        write(keys[op.blockKey], { untl }, untl, nil)
        r[6] = op.blockMs; r[7] = op.blockMs
        r[2] = true
      end
    end
  end
  return results
end

local RESULT = '<ddddddd'
local function pack_result(allowed, blocked, limit, windowMs, remaining, reset, retry)
  local a, b = 0, 0
  if allowed then a = 1 end
  if blocked then b = 1 end
  return struct.pack(RESULT, a, b, limit, windowMs, remaining, reset, retry)
end

-- run() for the common check: one op with no block key, no policy override and no scale, and a
-- state key whose override is looked up. The same steps with the branches that cannot apply
-- left out, and no tables for them. Returns the packed result.
local function run_one(k, tx)
  local params, cost = tx.params, tx.cost
  local p = params
  local raw
  if overridesExist then
    local both = redis.call('MGET', k, override_key(k))
    raw = both[1]
    if both[2] then p = override_params(both[2], params.buckets) or params end
  else
    raw = redis.call('GET', k)
  end
  local state, oldDeadline = decode_stored(raw)
  local m = tx.mode
  local step = STEP[params.alg]
  local ok, remaining, reset, retry, st = step(state, now, cost, p, m)
  local allowed = ok or tx.blockOnly
  local ra = retry
  if allowed then ra = 0 end
  -- Admitted unless this op refused and is not a shadow; 'take' charges when admitted and
  -- allowed, or (refused) when it charges rejected calls; 'force' and 'refund' always apply.
  local doWrite = m == 'f' or m == 'r' or (m == 't' and allowed)
  if m == 't' and not allowed and not tx.shadow and tx.chargeRejected then
    local _a, _b, _c, _d, fst = step(state, now, cost, p, 'f')
    st = fst
    doWrite = true
  end
  -- Nothing charged, but the state was stamped ahead of now: keep it clamped from now on (a
  -- refused take's and a peek's state is the clamped state, uncharged).
  if not doWrite and state and AHEAD[params.alg](state, now, p) then doWrite = true end
  if doWrite then
    local expiresAt = 0
    if st ~= nil then expiresAt = EXPIRES[params.alg](st, expiry_params(params, p.limit, p.windowMs)) end
    write(k, st, expiresAt, oldDeadline)
  end
  return pack_result(allowed, false, p.limit, p.windowMs, remaining, reset, ra)
end

-- Rule parameters repeat across a batch: parse each distinct "alg,limit,windowMs,burst,buckets" once.
local specs = {}
-- Checks of one shape (same rules, same key positions, the server's clock) encode to the same
-- text whatever their keys, so each distinct text is parsed once: per call for a script, and
-- across calls for a function (its library's locals live on; at most ~512 texts are kept).
-- Parsed ops are read-only.
local parsed, parsedCount = {}, 0
local function spec(s)
  local p = specs[s]
  if p == nil then
    local a, l, w, b, k = string.match(s, '^([^,]+),([^,]+),([^,]+),([^,]+),([^,]+)$')
    p = { alg = tonumber(a), limit = tonumber(l), windowMs = tonumber(w), burst = num(b), buckets = num(k) }
    specs[s] = p
  end
  return p
end
local function set_now(s)
  if s == '-' then now = server_now(); SLACK = 1000; serverClock = true else now = tonumber(s); SLACK = 60000; serverClock = false end
end
-- In debug mode: each op's stored state after the transaction, as a count and the doubles.
local function debug_states(keyOf, n)
  local parts = {}
  for i = 1, n do
    local k = keyOf(i)
    local v = false
    if k ~= nil then v = redis.call('GET', k) end
    v = v or ''
    parts[i] = struct.pack('<d', #v / 8) .. v
  end
  return table.concat(parts)
end

-- One transaction's text, parsed: { now, nkeys, one = fast-path fields } or { now, nkeys, ops }.
local ONE_OP = '^([^,/]+),1,1/([^;]+);1,([^,]+),(%a),(%d+)$'
local function parse(a)
  local nowS, specS, costS, mode, flagsS = string.match(a, ONE_OP)
  local flags = tonumber(flagsS)
  if nowS ~= nil and flags >= 8 then
    local blockOnly = math.floor(flags / 4) % 2 == 1
    if blockOnly then mode = 'p' end
    return { now = nowS, nkeys = 1, one = true, params = spec(specS), cost = tonumber(costS), mode = mode,
      shadow = flags % 2 == 1, chargeRejected = math.floor(flags / 2) % 2 == 1, blockOnly = blockOnly }
  end
  local nkeysS, nopsS, refusedS
  nowS, nkeysS, nopsS, refusedS = string.match(a, '^([^,/]+),(%d+),(%d+)(r?)')
  local ops = {}
  local i = 0
  for st, dyn in string.gmatch(a, '/([^;]*);([^/]*)') do
    i = i + 1
    local p = spec(st)
    local f, nf = {}, 0
    for x in string.gmatch(dyn, '[^,]+') do nf = nf + 1; f[nf] = x end
    local fl = tonumber(f[4])
    local op = {
      key = num(f[1]),
      alg = p.alg,
      params = p,
      buckets = p.buckets,
      cost = tonumber(f[2]),
      mode = f[3],
      shadow = fl % 2 == 1,
      chargeRejected = math.floor(fl / 2) % 2 == 1,
      blockOnly = math.floor(fl / 4) % 2 == 1,
      lookup = math.floor(fl / 8) % 2 == 1,
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
  return { now = nowS, nkeys = tonumber(nkeysS), nops = tonumber(nopsS), ops = ops, refused = refusedS == 'r' }
end

`;

/** The body of one transaction call, over KEYS and ARGV (globals in a script, the callback's arguments in a function). */
const txMainLua = `
-- Per-call state: a function library's locals outlive the call, so every call starts afresh
-- (but for the parse caches: parsed texts are read-only and mean the same in every call).
serverNow = nil; now = 0; serverClock = true; SLACK = 1000
pxText = {}
if parsedCount > 512 then parsed = {}; specs = {}; parsedCount = 0 end
debug = string.sub(ARGV[1], 1, 1) == '1'
overridesExist = true
if string.sub(ARGV[1], 2, 2) == 'x' then overridesExist = redis.call('EXISTS', KEYS[#KEYS]) == 1 end
local reply = { '-' }
local keyBase = 0
for t = 2, #ARGV do
  local a = ARGV[t]
  local tx = parsed[a]
  if tx == nil then tx = parse(a); parsed[a] = tx; parsedCount = parsedCount + 1 end
  set_now(tx.now)
  if tx.one then
    local k = KEYS[keyBase + 1]
    keyBase = keyBase + 1
    local o = run_one(k, tx)
    if debug then o = o .. debug_states(function() return k end, 1) end
    reply[t] = o
  else
    local keys = {}
    for k = 1, tx.nkeys do keys[k] = KEYS[keyBase + k] end
    keyBase = keyBase + tx.nkeys
    local ops = tx.ops
    local results = run(ops, keys, tx.refused)
    local parts = {}
    for j = 1, tx.nops do
      local r = results[j]
      parts[j] = pack_result(r[1], r[2], r[3], r[4], r[5], r[6], r[7])
    end
    local o = table.concat(parts)
    if debug then o = o .. debug_states(function(j) return keys[ops[j].key] end, tx.nops) end
    reply[t] = o
  end
end
-- An integer reply: whole milliseconds, and no %.17g printing.
local head = '-'
if serverNow ~= nil then head = serverNow end
if debug then reply[1] = head; return reply end
-- One bulk string for the whole batch (each transaction's results are nops × 56 bytes, so the
-- caller finds its own): one reply element to write and to decode instead of one per transaction.
reply[1] = ''
return { head, table.concat(reply) }
`;

export const transactionLua = `${txHelpersLua}${txMainLua}`;

/**
 * The same transaction as a Redis Functions library (Redis ≥ 7): loaded once per server
 * (FUNCTION LOAD), then called by FCALL with the KEYS and ARGV of the script. A script
 * call re-runs the whole chunk, defining every helper and algorithm again before deciding
 * anything (about 10 µs of the 13.6 µs a lone decision cost inside Redis, bench/redis.mjs);
 * a function defines them once, at load. The library and function names carry a hash of
 * the code, so instances of different versions sharing a Redis each call their own.
 */
export function transactionLibrary(version: string): { library: string; fn: string; code: string } {
  const library = `sluice_${version}`;
  const fn = `sluice_tx_${version}`;
  const code = `#!lua name=${library}\n${txHelpersLua}\nredis.register_function('${fn}', function(KEYS, ARGV)\n${txMainLua}\nend)\n`;
  return { library, fn, code };
}


/**
 * One algorithm step, for the differential tests against the TypeScript step functions.
 * ARGV: alg now cost mode limit windowMs burst buckets state ('' for none).
 * Reply: "allowed,remaining,resetMs,retryAfterMs|state|expiresAt|ahead" (ahead: '1' when the
 * given state is stamped ahead of now, '0' when not, '' without a state).
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
if ARGV[9] ~= '' then
  state = {}
  for f in string.gmatch(ARGV[9], '[^,]+') do state[#state + 1] = tonumber(f) end
end
local ok, remaining, reset, retry, st = STEP[alg](state, tonumber(ARGV[2]), tonumber(ARGV[3]), p, ARGV[4])
local a = '0'
if ok then a = '1' end
local s, e = '', ''
if st ~= nil then
  -- Through the stored format and back, so the codec is checked double for double too.
  local parts = {}
  for i, x in ipairs(decode_stored(encode_stored(st, 0)) or {}) do parts[i] = fmt(x) end
  s = table.concat(parts, ',')
  e = fmt(EXPIRES[alg](st, p))
end
local ah = ''
if state ~= nil and #state > 0 then
  if AHEAD[alg](state, tonumber(ARGV[2]), p) then ah = '1' else ah = '0' end
end
return a .. ',' .. fmt(remaining) .. ',' .. fmt(reset) .. ',' .. fmt(retry) .. '|' .. s .. '|' .. e .. '|' .. ah
`;
