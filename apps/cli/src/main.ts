import { registerCesqlValidator } from '@eventing/api';
import { cesqlSyntaxError } from '@eventing/filters';
import { runCli } from './cli';

// Trigger validation rejects a CESQL filter that does not parse, naming where it fails.
registerCesqlValidator(cesqlSyntaxError);

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// exitCode rather than exit(): output written to a pipe is flushed before the process ends.
void runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin,
}).then((code) => {
  process.exitCode = code;
});
