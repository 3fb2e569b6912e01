export * from './subscriber';
export * from './subscriber-server';
export * from './go-sdk';
export * from './java-sdk';
export * from './servers/kafka';
export * from './servers/nats';
export * from './servers/kube';
export * from './app-process';
