export * from './store/memory-store';
export * from './resolver/address-resolver';
export * from './contract/delivery';
export * from './broker/reconcile';
export * from './trigger/reconcile';
export * from './pingsource/reconcile';
export * from './controller/controller';
export * from './loader/yaml-loader';
