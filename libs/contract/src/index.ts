export * from './contract';
export * from './io';
