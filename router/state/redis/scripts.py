"""The Lua scripts the Redis state runs: each one is a read-modify-write that must be atomic.

Why Lua rather than MULTI/WATCH: a script runs on the server as one step, so a check-and-add on
a rate window (several processes racing for the last slot of an `rpm` quota) needs one round
trip and can never be interleaved; WATCH would retry under contention, costing round trips on
exactly the hot keys. Every script also prunes what has expired and refreshes its key's TTL, so
the keys stay bounded without a janitor process.
"""

from __future__ import annotations

# KEYS[1]: a window hash, fields "r<second>" (requests) and "p<second>" (pages) per 1-second
# bucket, and "t<second>": the tokens of the bookings made in that bucket ("+<token>," booked,
# "-<token>," withdrawn). ARGV: bucket second, requests, pages, max requests (-1: none), max
# pages (-1: none), now, retention seconds, TTL ms, token ("" for none), mode ("book" or
# "withdraw"). Book: adds (requests, pages) to the bucket unless that would break a maximum (the
# same rule as router/limits.py: at `rpm` requests the window is full; a page quota is full when
# pages are counted and these pages would pass it).
#
# Why tokens: a booking whose reply was lost (a timeout; the script may have run or may run
# later) is sent again with the same token, and a token is booked once however often it is
# sent: a token already booked answers "admitted" and adds nothing. Withdraw takes back the
# booking of a token whose caller was told no (its outcome was unknown, and it was refused
# locally), and marks the token so that a late copy of its booking adds nothing either. Only
# the token fields of the bucket named are read (HGET), never scanned: a busy window costs the
# same per call. Returns {admitted (1/0), second, requests, pages, ...} for live buckets.
WINDOW = """
local key = KEYS[1]
local bucket = ARGV[1]
local add_r = tonumber(ARGV[2])
local add_p = tonumber(ARGV[3])
local max_r = tonumber(ARGV[4])
local max_p = tonumber(ARGV[5])
local now = tonumber(ARGV[6])
local retention = tonumber(ARGV[7])
local token = ARGV[9]
local withdraw = ARGV[10] == 'withdraw'
local counted = {}
for _, name in ipairs(redis.call('HKEYS', key)) do
  local second = tonumber(string.sub(name, 2))
  if second == nil or second + retention <= now then
    redis.call('HDEL', key, name)
  elseif string.sub(name, 1, 1) ~= 't' then
    table.insert(counted, name)
  end
end
local seconds = {}
local total_r, total_p = 0, 0
if #counted > 0 then
  local values = redis.call('HMGET', key, unpack(counted))
  for i, name in ipairs(counted) do
    local second = tonumber(string.sub(name, 2))
    local value = tonumber(values[i]) or 0
    local entry = seconds[second]
    if entry == nil then
      entry = {0, 0}
      seconds[second] = entry
    end
    if string.sub(name, 1, 1) == 'r' then
      entry[1] = entry[1] + value
      total_r = total_r + value
    else
      entry[2] = entry[2] + value
      total_p = total_p + value
    end
  end
end
local tokens_field = 't' .. bucket
local tokens = ''
local booked, withdrawn = false, false
if token ~= '' then
  tokens = redis.call('HGET', key, tokens_field) or ''
  booked = string.find(tokens, '+' .. token .. ',', 1, true) ~= nil
  withdrawn = string.find(tokens, '-' .. token .. ',', 1, true) ~= nil
end
local function add(r, p)
  local second = tonumber(bucket)
  redis.call('HINCRBY', key, 'r' .. bucket, r)
  redis.call('HINCRBY', key, 'p' .. bucket, p)
  local entry = seconds[second]
  if entry == nil then
    entry = {0, 0}
    seconds[second] = entry
  end
  entry[1] = entry[1] + r
  entry[2] = entry[2] + p
end
local admitted = 1
if withdraw then
  admitted = 0
  if booked then
    add(-add_r, -add_p)
    tokens = string.gsub(tokens, '%+' .. token .. ',', '-' .. token .. ',')  -- hex: no magic
    redis.call('HSET', key, tokens_field, tokens)
  elseif not withdrawn then
    redis.call('HSET', key, tokens_field, tokens .. '-' .. token .. ',')
  end
elseif withdrawn then
  admitted = 0
elseif not booked then
  if max_r >= 0 and total_r + add_r > max_r then
    admitted = 0
  end
  if max_p >= 0 and total_p > 0 and total_p + add_p > max_p then
    admitted = 0
  end
  if admitted == 1 and (add_r ~= 0 or add_p ~= 0) then
    add(add_r, add_p)
    if token ~= '' then
      redis.call('HSET', key, tokens_field, tokens .. '+' .. token .. ',')
    end
  end
end
if redis.call('EXISTS', key) == 1 then
  redis.call('PEXPIRE', key, ARGV[8])
end
local out = {admitted}
for second, entry in pairs(seconds) do
  table.insert(out, second)
  table.insert(out, entry[1])
  table.insert(out, entry[2])
end
return out
"""

# KEYS[1]: a hash of one value per process, "value|expiry ms". ARGV: process id, value ("" to
# withdraw it), now ms, expiry ms of this value, key TTL ms. Publishes this process's value and
# returns the live values of the other processes, dropping those whose lease has expired (a
# process that died stops refreshing its lease, so its in-flight count vanishes with it).
PUBLISH = """
local me = ARGV[1]
local now = tonumber(ARGV[3])
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], me)
else
  redis.call('HSET', KEYS[1], me, ARGV[2] .. '|' .. ARGV[4])
end
local fields = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #fields, 2 do
  if fields[i] ~= me then
    local value = fields[i + 1]
    local bar = string.find(value, '|', 1, true)
    local expiry = tonumber(string.sub(value, bar + 1))
    if expiry <= now then
      redis.call('HDEL', KEYS[1], fields[i])
    else
      table.insert(out, string.sub(value, 1, bar - 1))
    end
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return out
"""

# KEYS[1]: a deployment's health record (JSON). ARGV: the new record ("" to clear it), now
# (seconds), TTL ms. A live cooldown is replaced only by a later one: a process whose copy was
# stale (it had not seen another's cooldown yet) must not clear or shorten it. A cooldown that
# has passed may be cleared (a half-open probe succeeded) or replaced. Returns the stored record.
HEALTH = """
local now = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
if stored then
  local old = cjson.decode(stored)
  local old_until = old['cooldown_until']
  if type(old_until) == 'number' and old_until > now then
    local new_until = 0
    if ARGV[1] ~= '' then
      local new = cjson.decode(ARGV[1])
      if type(new['cooldown_until']) == 'number' then new_until = new['cooldown_until'] end
    end
    if new_until < old_until then
      return stored
    end
  end
end
if ARGV[1] == '' then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return ARGV[1]
"""

# The ledger's push, applied at most once and only to the store it was counted against (money
# as two integers with a carry, so sums are exact to the pico-dollar and never overflow:
# INCRBYFLOAT would round).
# KEYS[1]: the costs hash (its field "epoch|" names this life of the store: a Redis restarted
# empty has none, and gets a new one), KEYS[2]: this process's "applied" marker (the sequence
# number of its last batch applied), KEYS[3..]: the spend hashes of the batch.
# ARGV: the epoch the process counted against ("" for a process that has pushed nothing yet), a
# fresh epoch to name a new life, the batch's sequence number (0: no batch, a check only), the
# marker's TTL ms, the number of cost entries, then 6 values per cost entry (field prefix,
# requests, pages, unpriced, whole dollars, pico-dollars) and 3 per spend key (dollars, picos,
# TTL seconds or 0). Returns {status, epoch}: 1 applied, 0 nothing to apply or applied before (a
# sync retried after its reply was lost), -1 the store is not the one counted against (restarted
# empty): nothing applied, the process must push its totals again.
LEDGER = """
local epoch = redis.call('HGET', KEYS[1], 'epoch|')
if not epoch then
  epoch = ARGV[2]
  redis.call('HSET', KEYS[1], 'epoch|', epoch)
end
if ARGV[1] ~= '' and ARGV[1] ~= epoch then
  return {-1, epoch}
end
local sequence = tonumber(ARGV[3])
if sequence == 0 then
  return {0, epoch}
end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if sequence <= last then
  return {0, epoch}
end
redis.call('SET', KEYS[2], sequence, 'PX', ARGV[4])
local function add(key, prefix, requests, pages, unpriced, dollars, picos)
  if requests ~= '0' then redis.call('HINCRBY', key, prefix .. 'requests', requests) end
  if pages ~= '0' then redis.call('HINCRBY', key, prefix .. 'pages', pages) end
  if unpriced ~= '0' then redis.call('HINCRBY', key, prefix .. 'unpriced', unpriced) end
  redis.call('HINCRBY', key, prefix .. 'usd_d', dollars)
  local carried = redis.call('HINCRBY', key, prefix .. 'usd_p', picos)
  if carried >= 1000000000000 then
    redis.call('HINCRBY', key, prefix .. 'usd_p', '-1000000000000')
    redis.call('HINCRBY', key, prefix .. 'usd_d', 1)
  end
end
local at = 6
for _ = 1, tonumber(ARGV[5]) do
  add(KEYS[1], ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5])
  at = at + 6
end
for index = 3, #KEYS do
  add(KEYS[index], '', '0', '0', '0', ARGV[at], ARGV[at + 1])
  if ARGV[at + 2] ~= '0' then redis.call('EXPIRE', KEYS[index], ARGV[at + 2]) end
  at = at + 3
end
return {1, epoch}
"""

__all__ = ["HEALTH", "LEDGER", "PUBLISH", "WINDOW"]
