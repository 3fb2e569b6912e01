// Preloaded into every child the benchmark starts (`node --import ./parent-guard.mjs ...`):
// exits the child once its parent is gone, so a killed benchmark never leaves servers behind.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
}, 500).unref();
