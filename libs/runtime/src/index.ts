export * from './logger';
export * from './health';
export * from './service';
export * from './env';
export * from './settings';
export * from './service-runtime';
