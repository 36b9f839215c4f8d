// SPDX-License-Identifier: MIT
// The node-redis 4 anchor of bench_redis: `concurrency` async loops GET
// bench:k on one client (node-redis pipelines what one tick queued) for
// `seconds`; prints what bench_redis parses.
// usage: node node_anchor.js <host:port> <concurrency> <seconds>
// (NODE_PATH: the node_modules holding redis@4)
'use strict';
const { createClient } = require('redis');

async function main() {
  const [endpoint, conc, secs] = process.argv.slice(2);
  const client = createClient({ url: `redis://${endpoint}` });
  let errors = 0;
  client.on('error', () => errors++);
  await client.connect();
  await client.get('bench:k'); // connected and warm
  let ops = 0, stop = false;
  const loop = async () => {
    while (!stop) {
      if ((await client.get('bench:k')) === null) errors++;
      ops++;
    }
  };
  const cpu0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  const loops = Array.from({ length: Number(conc) }, loop);
  setTimeout(() => { stop = true; }, Number(secs) * 1000);
  await Promise.all(loops);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await client.quit();
  console.log(`ops=${ops} seconds=${wall} ` +
              `cpu_seconds=${(cpu.user + cpu.system) / 1e6} errors=${errors}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
