export * from './subscriber';
