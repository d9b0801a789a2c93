// Preloaded into a benchmarked child (node -r): reports its peak resident memory and CPU time on exit.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`\n@@bench ${JSON.stringify({ maxRssKiB: u.maxRSS, cpuSecs: (u.userCPUTime + u.systemCPUTime) / 1e6 })}\n`);
});
