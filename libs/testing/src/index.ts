export * from './subscriber';
export * from './subscriber-server';
export * from './go-sdk';
export * from './java-sdk';
