export * from './subscriber';
export * from './subscriber-server';
