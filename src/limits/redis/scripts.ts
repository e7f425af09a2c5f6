/**
 * The Redis limits backend's Lua scripts. Each runs atomically inside Redis, so every check of one request and
 * every counter it takes happen together, all or nothing, whichever replica sends them.
 *
 * Layout (P = key prefix, K = `P{owner}:` for each counter owner, see ACQUIRE_BODY; standalone Redis or Sentinel, not
 * Cluster: the sweeper spans keys):
 * - `P gen`            hash {ready}: generation marker. Its absence means Redis lost its state (restart, failover,
 *                      FLUSHALL); whoever notices recreates it with `ready = now + warmMs`, and budgeted admissions
 *                      wait until then so that live replicas re-register their open reservations first.
 * - `P expiring`       zset `owner \n ticketId` → lease expiry (Redis server time, ms): what the sweeper scans.
 * - `P swept:<owner>:<ticket>` string: the sweeper charged this part in full; its late settlement must not again.
 * - `K spent`          hash periodKey → settled USD, plus `_m` once rebuilt from the durable ledger.
 * - `K resv`           hash periodKey → USD reserved by open tickets.
 * - `K tix`            hash ticketId → cjson {u = usd, p = {periodKeys}} for open budget tickets.
 * - `K conc`           zset ticketId → lease expiry, for tickets holding a concurrency slot.
 * - `K tat:<id>`       GCRA theoretical arrival time. `K tb:<id>` hash {l = level, a = at}: token bucket.
 *
 * Lease times use Redis's own clock (TIME), so replicas with skewed clocks agree on when a lease is over; rates and
 * token buckets use the request's `now`, as the in-memory backend does. Fractional values leave Lua as strings
 * (Redis truncates Lua numbers to integers on the way out).
 */

export const COMMON = `
local P = ARGV[1]
local t = redis.call('TIME')
local srvNow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local EPS = 1e-9

-- Returns the time from which budgeted admissions may proceed (see the generation marker above).
local function generation(warmMs)
  local ready = redis.call('HGET', P .. 'gen', 'ready')
  if not ready then
    ready = srvNow + warmMs
    redis.call('HSET', P .. 'gen', 'ready', ready)
    return ready
  end
  return tonumber(ready)
end

local function fmt(x)
  return string.format('%.17g', x)
end

local function refill(level, at, now, limit, periodMs)
  if now <= at then return level, at end
  return math.min(limit, level + (now - at) * limit / periodMs), now
end

local function bucketState(key, limit, now)
  local s = redis.call('HMGET', key, 'l', 'a')
  if not s[1] then return limit, now end
  return tonumber(s[1]), tonumber(s[2])
end
`;

/**
 * Every counter belongs to an owner: the requesting key, its project (`prj_…`, shared by the project's keys) or,
 * for a child key's parent budgets, the parent key. `K` below is the owner's prefix `P{owner}:`; key and project ids
 * never collide. A ticket holds one lease per owner it reserved with (`P expiring` member `owner \n ticketId`), so
 * each owner's part is renewed, settled and swept on its own, exactly once.
 *
 * ARGV: prefix, keyId, now, ticketId, leaseMs, warmMs, spentTtlMs,
 *   nRates, (owner, id, limit, periodMs)*, nTokens, (owner, id, limit, periodMs, amount)*,
 *   nConc, (owner, limit)*, nBudgets, (owner, periodKey, limitUsd)*, reserveUsd
 * Returns {1, reqLimit, reqRemaining, reqReset, tokLimit, tokRemaining, tokReset, usedUsd*} (-1: no such limit;
 * usedUsd: spent + reserved of each budget, in order, this reservation included),
 * {0, reason, retryAfterMs, periodKey, reqLimit, reqRemaining, reqReset, tokLimit, tokRemaining, tokReset, owner},
 * {2, waitMs} while the generation warms up, or {3, owner} when that owner's spend must be rebuilt from the ledger.
 *
 * The body is kept apart from COMMON: the batch script (batch-script.ts) runs it once per queued operation.
 */
export const ACQUIRE_BODY = `
local keyId = ARGV[2]
local now = tonumber(ARGV[3])
local ticketId = ARGV[4]
local leaseMs = tonumber(ARGV[5])
local warmMs = tonumber(ARGV[6])
local spentTtl = tonumber(ARGV[7])
local i = 8
local function K(owner) return P .. '{' .. owner .. '}:' end

local nRates = tonumber(ARGV[i]); i = i + 1
local rates = {}
for r = 1, nRates do
  rates[r] = { owner = ARGV[i], id = ARGV[i + 1], limit = tonumber(ARGV[i + 2]), period = tonumber(ARGV[i + 3]) }
  i = i + 4
end
local nTokens = tonumber(ARGV[i]); i = i + 1
local toks = {}
for r = 1, nTokens do
  toks[r] = { owner = ARGV[i], id = ARGV[i + 1], limit = tonumber(ARGV[i + 2]), period = tonumber(ARGV[i + 3]), amount = tonumber(ARGV[i + 4]) }
  i = i + 5
end
local nConc = tonumber(ARGV[i]); i = i + 1
local concs = {}
for r = 1, nConc do
  concs[r] = { owner = ARGV[i], limit = tonumber(ARGV[i + 1]) }
  i = i + 2
end
local nBudgets = tonumber(ARGV[i]); i = i + 1
local budgets = {}
for r = 1, nBudgets do
  budgets[r] = { owner = ARGV[i], period = ARGV[i + 1], limit = tonumber(ARGV[i + 2]) }
  i = i + 3
end
local reserveUsd = tonumber(ARGV[i])

if nBudgets > 0 then
  local ready = generation(warmMs)
  if srvNow < ready then return {2, ready - srvNow} end
  for r = 1, nBudgets do
    if redis.call('HEXISTS', K(budgets[r].owner) .. 'spent', '_m') == 0 then return {3, budgets[r].owner} end
  end
end

local req = {-1, -1, -1}
local newTats = {}
for r = 1, nRates do
  local rate = rates[r]
  local interval = rate.period / rate.limit
  local tat = tonumber(redis.call('GET', K(rate.owner) .. 'tat:' .. rate.id) or '0')
  local base = math.max(tat, now)
  local newTat = base + interval
  if newTat - now > rate.period + EPS then
    return {0, 'rate', fmt(math.ceil(newTat - rate.period - now)), '', rate.limit, 0, fmt(math.ceil(base - now)), -1, -1, -1, rate.owner}
  end
  newTats[r] = newTat
  local remaining = math.floor((rate.period - (newTat - now)) / interval + EPS)
  if req[1] == -1 or remaining < req[2] then req = {rate.limit, remaining, math.ceil(newTat - now)} end
end

local tok = {-1, -1, -1}
local newLevels = {}
for r = 1, nTokens do
  local c = toks[r]
  local level, at = bucketState(K(c.owner) .. 'tb:' .. c.id, c.limit, now)
  level, at = refill(level, at, now, c.limit, c.period)
  local msPerToken = c.period / c.limit
  local needed = math.min(c.amount, c.limit)
  if level + EPS < needed then
    return {0, 'tokens', fmt(math.ceil((needed - level) * msPerToken)), '', req[1], fmt(req[2]), fmt(req[3]),
      c.limit, fmt(math.max(0, math.floor(level))), fmt(math.ceil((c.limit - level) * msPerToken)), c.owner}
  end
  local nextLevel = level - c.amount
  newLevels[r] = {nextLevel, at}
  local remaining = math.max(0, math.floor(nextLevel))
  if tok[1] == -1 or remaining < tok[2] then tok = {c.limit, remaining, math.ceil((c.limit - nextLevel) * msPerToken)} end
end

for r = 1, nConc do
  local live = redis.call('ZCOUNT', K(concs[r].owner) .. 'conc', '(' .. srvNow, '+inf')
  if live >= concs[r].limit then return {0, 'concurrency', 1000, '', -1, -1, -1, -1, -1, -1, concs[r].owner} end
end

local usedAfter = {}
for r = 1, nBudgets do
  local b = budgets[r]
  local spent = tonumber(redis.call('HGET', K(b.owner) .. 'spent', b.period) or '0')
  local reserved = tonumber(redis.call('HGET', K(b.owner) .. 'resv', b.period) or '0')
  if spent + reserved + reserveUsd > b.limit + 1e-12 then
    return {0, 'budget', 0, b.period, -1, -1, -1, -1, -1, -1, b.owner}
  end
  usedAfter[r] = spent + reserved + reserveUsd
end

-- Every check passed: take all of them.
for r = 1, nRates do
  redis.call('SET', K(rates[r].owner) .. 'tat:' .. rates[r].id, fmt(newTats[r]), 'PX', math.max(1, math.ceil(newTats[r] - now) + 1000))
end
for r = 1, nTokens do
  local key = K(toks[r].owner) .. 'tb:' .. toks[r].id
  redis.call('HSET', key, 'l', fmt(newLevels[r][1]), 'a', fmt(newLevels[r][2]))
  redis.call('PEXPIRE', key, toks[r].period * 2)
end
local expiry = srvNow + leaseMs
local leased = {}
local order = {}
local function lease(owner)
  if not leased[owner] then leased[owner] = {}; order[#order + 1] = owner end
  return leased[owner]
end
for r = 1, nConc do
  redis.call('ZADD', K(concs[r].owner) .. 'conc', expiry, ticketId)
  lease(concs[r].owner)
end
for r = 1, nBudgets do
  local b = budgets[r]
  local periods = lease(b.owner)
  periods[#periods + 1] = b.period
  redis.call('HINCRBYFLOAT', K(b.owner) .. 'resv', b.period, fmt(reserveUsd))
end
for _, owner in ipairs(order) do
  local periods = leased[owner]
  if #periods > 0 then
    redis.call('HSET', K(owner) .. 'tix', ticketId, cjson.encode({u = reserveUsd, p = periods}))
    redis.call('PEXPIRE', K(owner) .. 'spent', spentTtl)
    redis.call('PEXPIRE', K(owner) .. 'resv', spentTtl)
  end
  redis.call('ZADD', P .. 'expiring', expiry, owner .. '\\n' .. ticketId)
end
local out = {1, req[1], fmt(req[2]), fmt(req[3]), tok[1], fmt(tok[2]), fmt(tok[3])}
for r = 1, nBudgets do out[7 + r] = fmt(usedAfter[r]) end
return out
`;

/**
 * ARGV: prefix, ticketId, now, costUsd, tokensUsed, ledgerCharged 0|1, nParts, (owner, nPeriods, periodKey*)*,
 *   nTokens, (owner, id, limit, periodMs, amount)*
 * Returns one flag per part: 1 when the caller must write costUsd to that owner's durable ledger, 0 when the sweeper
 * already charged that part (or it reserved no budget). `ledgerCharged`: a retry of a settlement that could not
 * reach Redis and went to the ledger alone. If Redis still holds the reservation, it becomes spend here; if Redis
 * lost it, the rebuild from the ledger already counts it.
 *
 * The body is kept apart from COMMON: the batch script (batch-script.ts) runs it once per queued operation.
 */
export const SETTLE_BODY = `
local ticketId = ARGV[2]
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local used = tonumber(ARGV[5])
local ledgerCharged = ARGV[6] == '1'
local i = 7
local function K(owner) return P .. '{' .. owner .. '}:' end
local flags = {}
local nParts = tonumber(ARGV[i]); i = i + 1
for q = 1, nParts do
  local owner = ARGV[i]
  local nPeriods = tonumber(ARGV[i + 1])
  i = i + 2
  local periods = {}
  for r = 1, nPeriods do periods[r] = ARGV[i]; i = i + 1 end
  redis.call('ZREM', K(owner) .. 'conc', ticketId)
  redis.call('ZREM', P .. 'expiring', owner .. '\\n' .. ticketId)
  local charge = 1
  local entry = redis.call('HGET', K(owner) .. 'tix', ticketId)
  if entry then
    redis.call('HDEL', K(owner) .. 'tix', ticketId)
    local e = cjson.decode(entry)
    for _, p in ipairs(e.p) do
      local left = tonumber(redis.call('HINCRBYFLOAT', K(owner) .. 'resv', p, fmt(-e.u)))
      if left < 1e-12 then redis.call('HSET', K(owner) .. 'resv', p, '0') end
    end
  elseif ledgerCharged or nPeriods == 0 or redis.call('EXISTS', P .. 'swept:' .. owner .. ':' .. ticketId) == 1 then
    charge = 0
  end
  if charge == 1 and cost > 0 then
    for r = 1, nPeriods do redis.call('HINCRBYFLOAT', K(owner) .. 'spent', periods[r], fmt(cost)) end
  end
  flags[q] = charge
end

local nTokens = tonumber(ARGV[i]); i = i + 1
for r = 1, nTokens do
  local owner, id, limit, period, amount = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  i = i + 5
  local key = K(owner) .. 'tb:' .. id
  if redis.call('EXISTS', key) == 1 then
    local level, at = bucketState(key, limit, now)
    level, at = refill(level, at, now, limit, period)
    redis.call('HSET', key, 'l', fmt(math.min(limit, level - (used - amount))), 'a', fmt(at))
  end
end
return flags
`;

/**
 * Lease renewal, sent by every replica for its own open tickets: extends each lease, and re-creates a ticket part
 * Redis lost (restart, failover) unless the sweeper already charged it. ARGV: prefix, leaseMs, warmMs, n,
 * (owner, ticketId, holdsConcurrency 0|1, usd, nPeriods, periodKey*)*. Returns Redis's time (ms), for SWEEP_LUA.
 */
export const RENEW_LUA = `${COMMON}
local leaseMs = tonumber(ARGV[2])
generation(tonumber(ARGV[3]))
local n = tonumber(ARGV[4])
local i = 5
local expiry = srvNow + leaseMs
for r = 1, n do
  local owner, ticketId, conc, usd, nPeriods = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  i = i + 5
  local periods = {}
  for q = 1, nPeriods do periods[q] = ARGV[i]; i = i + 1 end
  if redis.call('EXISTS', P .. 'swept:' .. owner .. ':' .. ticketId) == 0 then
    local K = P .. '{' .. owner .. '}:'
    if conc == '1' then redis.call('ZADD', K .. 'conc', expiry, ticketId) end
    if nPeriods > 0 and redis.call('HEXISTS', K .. 'tix', ticketId) == 0 then
      redis.call('HSET', K .. 'tix', ticketId, cjson.encode({u = usd, p = periods}))
      for q = 1, nPeriods do redis.call('HINCRBYFLOAT', K .. 'resv', periods[q], fmt(usd)) end
    end
    redis.call('ZADD', P .. 'expiring', expiry, owner .. '\\n' .. ticketId)
  end
end
return srvNow
`;

/**
 * Charges expired leases in full, each owner's part exactly once (the removal and the charge are one atomic step).
 * ARGV: prefix, maxTickets, sweptTtlMs, renewedAt, maxGapMs. Returns {owner, usd, nPeriods, periodKey*}* for the
 * durable ledger.
 *
 * A sweeper renews its own leases just before it sweeps, and renewedAt is Redis's time at that renewal, so it is
 * normally milliseconds old. More than maxGapMs old, something stood still between the two (Redis stopped, swapped
 * out or busy with a long command, or the sweeper's own process): leases may have run out while nobody could renew or
 * settle them, and the renewals and settlements sent meanwhile are queued behind this sweep. Charging now would bill
 * settled requests their full reservation, so this sweep charges nothing; the next beat's runs after them. maxGapMs
 * is the lease less one heartbeat: a lease is renewed at least once a heartbeat, so a shorter gap cannot have let a
 * live one run out.
 */
export const SWEEP_LUA = `${COMMON}
local max = tonumber(ARGV[2])
local sweptTtl = tonumber(ARGV[3])
if srvNow - tonumber(ARGV[4]) > tonumber(ARGV[5]) then return {} end
local due = redis.call('ZRANGEBYSCORE', P .. 'expiring', '-inf', srvNow, 'LIMIT', 0, max)
local out = {}
for _, member in ipairs(due) do
  redis.call('ZREM', P .. 'expiring', member)
  local cut = string.find(member, '\\n', 1, true)
  local owner = string.sub(member, 1, cut - 1)
  local ticketId = string.sub(member, cut + 1)
  local K = P .. '{' .. owner .. '}:'
  redis.call('ZREM', K .. 'conc', ticketId)
  local entry = redis.call('HGET', K .. 'tix', ticketId)
  if entry then
    redis.call('HDEL', K .. 'tix', ticketId)
    redis.call('SET', P .. 'swept:' .. owner .. ':' .. ticketId, '1', 'PX', sweptTtl)
    local e = cjson.decode(entry)
    out[#out + 1] = owner
    out[#out + 1] = fmt(e.u)
    out[#out + 1] = #e.p
    for _, p in ipairs(e.p) do
      local left = tonumber(redis.call('HINCRBYFLOAT', K .. 'resv', p, fmt(-e.u)))
      if left < 1e-12 then redis.call('HSET', K .. 'resv', p, '0') end
      redis.call('HINCRBYFLOAT', K .. 'spent', p, fmt(e.u))
      out[#out + 1] = p
    end
  end
end
return out
`;

/**
 * Reads budget state of one or more owners. ARGV: prefix, warmMs, (owner, periodKey)*.
 * Returns {1, spent*, reserved*}, {2, waitMs} while warming, {3, owner} when that owner must be rebuilt first.
 *
 * The body is kept apart from COMMON: the batch script (batch-script.ts) runs it once per queued operation.
 */
export const READ_SPEND_BODY = `
local ready = generation(tonumber(ARGV[2]))
if srvNow < ready then return {2, ready - srvNow} end
for i = 3, #ARGV, 2 do
  if redis.call('HEXISTS', P .. '{' .. ARGV[i] .. '}:spent', '_m') == 0 then return {3, ARGV[i]} end
end
local out = {1}
for i = 3, #ARGV, 2 do out[#out + 1] = redis.call('HGET', P .. '{' .. ARGV[i] .. '}:spent', ARGV[i + 1]) or '0' end
for i = 3, #ARGV, 2 do out[#out + 1] = redis.call('HGET', P .. '{' .. ARGV[i] .. '}:resv', ARGV[i + 1]) or '0' end
return out
`;

/**
 * Loads a key's settled spend from the durable ledger, once: whatever Redis accumulated since it lost its state is
 * added on top (that can only overstate, never understate). ARGV: prefix, keyId, spentTtlMs, (periodKey, usd)*
 */
export const REBUILD_LUA = `${COMMON}
local K = P .. '{' .. ARGV[2] .. '}:'
if redis.call('HEXISTS', K .. 'spent', '_m') == 1 then return 0 end
for i = 4, #ARGV, 2 do redis.call('HINCRBYFLOAT', K .. 'spent', ARGV[i], ARGV[i + 1]) end
redis.call('HSET', K .. 'spent', '_m', '1')
redis.call('PEXPIRE', K .. 'spent', tonumber(ARGV[3]))
return 1
`;

/** ARGV: prefix, keyId. Requests of the key holding a live concurrency lease. Run through the batch script. */
export const INFLIGHT_BODY = `
return redis.call('ZCOUNT', P .. '{' .. ARGV[2] .. '}:conc', '(' .. srvNow, '+inf')
`;
