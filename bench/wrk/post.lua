-- wrk script: every request is a POST of BENCH_BODY_BYTES bytes (set by bench/main.ts).
local n = tonumber(os.getenv("BENCH_BODY_BYTES") or "16384")
wrk.method = "POST"
wrk.path = "/upload"
wrk.body = string.rep("x", n)
wrk.headers["Content-Type"] = "application/octet-stream"
