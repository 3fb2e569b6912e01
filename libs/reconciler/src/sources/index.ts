export * from './pod-template';
export * from './binding';
export * from './settings';
export * from './sink';
export * from './apiserversource';
export * from './containersource';
export * from './sinkbinding';
