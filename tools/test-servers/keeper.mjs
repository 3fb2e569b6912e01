#!/usr/bin/env node
// `node keeper.mjs [--remove-on-orphan DIR] -- CMD ARGS...`: runs a test server (a JVM, a Go binary)
// as its child and SIGKILLs it as soon as the process that started the keeper is gone, even when that
// process was killed outright (a crashed Jest worker, a Ctrl-C'd benchmark): the server itself cannot
// watch its parent. The starter holds the keeper's stdin open, so its death closes the pipe and the
// keeper notices at once; the parent pid is polled as well.
//
// The starter spawns the keeper as a process-group leader and stops the server by signalling the whole
// group (the keeper itself ignores SIGTERM/SIGINT/SIGHUP). SIGUSR2 to the keeper SIGKILLs the server,
// as a crash would. The keeper exits with the server's status only once the server is reaped, so its
// exit tells the starter that the server's ports and files are released.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

const args = process.argv.slice(2);
let removeOnOrphan;
if (args[0] === '--remove-on-orphan') {
  removeOnOrphan = args[1];
  args.splice(0, 2);
}
if (args[0] === '--') args.shift();
const [cmd, ...cmdArgs] = args;
if (!cmd) {
  process.stderr.write('usage: keeper.mjs [--remove-on-orphan DIR] -- CMD ARGS...\n');
  process.exit(2);
}

const parent = process.ppid;
const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
let orphaned = false;

function orphan() {
  if (orphaned) return;
  orphaned = true;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  else finish();
}

function finish() {
  if (orphaned && removeOnOrphan) rmSync(removeOnOrphan, { recursive: true, force: true });
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => {});
process.on('SIGUSR2', () => child.kill('SIGKILL'));
process.stdin.on('end', orphan).on('error', orphan).resume();
setInterval(() => {
  if (process.ppid !== parent) orphan();
}, 500).unref();

child.on('error', (err) => {
  process.stderr.write(`keeper: cannot start ${cmd}: ${err.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  finish();
  process.exit(code ?? 128 + ({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 }[signal] ?? 1));
});
