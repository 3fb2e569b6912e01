// A producer as a ContainerSource runs it: it reads where to send from K_SINK and the extensions to
// set from K_CE_OVERRIDES ({"extensions":{...}}, possibly empty), then POSTs one CloudEvent in the
// HTTP binary mode every PERIOD seconds. Plain Node.js, no dependencies.
'use strict';

const sink = process.env.K_SINK;
if (!sink) {
  console.error('K_SINK is not set: run me from a ContainerSource or a SinkBinding');
  process.exit(1);
}
const overrides = process.env.K_CE_OVERRIDES ? JSON.parse(process.env.K_CE_OVERRIDES) : {};
const extensions = overrides.extensions || {};
const periodMs = Number(process.env.PERIOD || '5') * 1000;
const source = `examples/container-source/${process.env.HOSTNAME || 'heartbeats'}`;
let beat = 0;

async function send() {
  beat += 1;
  const headers = {
    'ce-specversion': '1.0',
    'ce-id': `${process.pid}-${beat}`,
    'ce-source': source,
    'ce-type': 'dev.example.heartbeat',
    'ce-time': new Date().toISOString(),
    'content-type': 'application/json',
  };
  for (const [name, value] of Object.entries(extensions)) headers[`ce-${name}`] = value;
  try {
    const res = await fetch(sink, { method: 'POST', headers, body: JSON.stringify({ beat, periodMs }) });
    console.log(`heartbeat ${beat} sent: ${res.status}`);
  } catch (err) {
    console.error(`heartbeat ${beat} not sent: ${err.message}`);
  }
}

console.log(`sending a heartbeat to ${sink} every ${periodMs / 1000} s`);
void send();
const timer = setInterval(send, periodMs);
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.exit(0);
});
