-- wrk script for burnafter, four modes, chosen by the environment:
--   default                  create then reveal, over and over, on each connection
--   BURNAFTER_WITH_PEEK=1    create, peek, then reveal: the browser's flow (run it with
--                            one connection per wrk thread, so each secret's three
--                            requests go in turn: the tables below are per thread)
--   BURNAFTER_ONLY_CREATE=1  creates only
--   BURNAFTER_IDS_FILE=path  reveals only, of the secrets listed in the file (one id
--                            a line), split between BURNAFTER_THREADS wrk threads
-- The claim is the same for every secret: the server only compares SHA-256(claim)
-- with the stored verifier, so this costs the server exactly what real pairs do.
local create_body = os.getenv("BURNAFTER_CREATE_BODY")
local reveal_body = os.getenv("BURNAFTER_REVEAL_BODY")
local only_create = os.getenv("BURNAFTER_ONLY_CREATE") == "1"
local with_peek = os.getenv("BURNAFTER_WITH_PEEK") == "1"
local ids_file = os.getenv("BURNAFTER_IDS_FILE")
local thread_count = tonumber(os.getenv("BURNAFTER_THREADS") or "1")
local json = {["Content-Type"] = "application/json"}
local pending = {}
local peeking = {}  -- ids created and not peeked yet (BURNAFTER_WITH_PEEK)
local created, peeked, revealed, failed = 0, 0, 0, 0
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  if ids_file then
    local line_number = 0
    for line in io.lines(ids_file) do
      if line_number % thread_count == index then
        table.insert(pending, line)
      end
      line_number = line_number + 1
    end
  end
end

local function reveal(id)
  return wrk.format("POST", "/api/v1/secrets/" .. id .. "/reveal", json, reveal_body)
end

local function peek(id)
  return wrk.format("POST", "/api/v1/secrets/" .. id .. "/peek", json, reveal_body)
end

function request()
  local to_peek = table.remove(peeking)
  if to_peek then
    table.insert(pending, to_peek)  -- revealed by this thread's next request
    return peek(to_peek)
  end
  local id = table.remove(pending)
  if id then
    return reveal(id)
  end
  if ids_file then
    error("BURNAFTER_IDS_FILE ran out of secrets: seed more")
  end
  return wrk.format("POST", "/api/v1/secrets", json, create_body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
    local id = body:match('"id":%s*"([^"]+)"')
    if with_peek then
      table.insert(peeking, id)
    elseif not only_create then
      table.insert(pending, id)
    end
  elseif status == 200 and body:find('"views_left"') and not body:find('"ciphertext"') then
    peeked = peeked + 1
  elseif status == 200 then
    revealed = revealed + 1
  else
    failed = failed + 1
  end
  wrk.thread:set("created", created)
  wrk.thread:set("peeked", peeked)
  wrk.thread:set("revealed", revealed)
  wrk.thread:set("failed", failed)
end

function done(summary, latency, requests)
  local c, p, r, f = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + (thread:get("created") or 0)
    p = p + (thread:get("peeked") or 0)
    r = r + (thread:get("revealed") or 0)
    f = f + (thread:get("failed") or 0)
  end
  io.write(string.format("BURNAFTER created=%d peeked=%d revealed=%d failed=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f\n",
    c, p, r, f, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
