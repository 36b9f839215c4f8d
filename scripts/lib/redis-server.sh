# SPDX-License-Identifier: MIT
# Sourced by scripts that need a private redis-server (the benchmarks, the
# demo tour). Defines:
#   redis_start DIR   starts redis-server on a free loopback port, with its
#                     files in DIR and persistence off; sets redis_port and
#                     redis_pid; returns non-zero if none came up.
#   redis_stop        stops it (also safe when none runs).
redis_port= redis_pid=

redis__port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

redis_start() {
  local dir=$1 attempt i
  for attempt in $(seq 1 20); do
    redis_port=$((20000 + RANDOM % 30000))
    redis__port_busy "$redis_port" && continue
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
      --appendonly no --dir "$dir" --protected-mode no \
      >"$dir/redis.log" 2>&1 &
    redis_pid=$!
    # Up when it answers PING (bounded: 5 s).
    for i in $(seq 1 100); do
      redis-cli -p "$redis_port" PING >/dev/null 2>&1 && return 0
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.05
    done
    redis_stop
  done
  echo "could not start redis-server (see $dir/redis.log)" >&2
  return 1
}

redis_stop() {
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null
    wait "$redis_pid" 2>/dev/null
  fi
  redis_pid=
  return 0
}
