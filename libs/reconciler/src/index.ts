export * from './store/store';
export * from './store/memory-store';
export * from './resolver/address-resolver';
export * from './contract/delivery';
export * from './broker/reconcile';
export * from './trigger/reconcile';
export * from './pingsource/reconcile';
export * from './controller/controller';
export * from './controller/work-queue';
export * from './controller/kinds';
export * from './controller/owner';
export * from './loader/yaml-loader';
export * from './loader/folder-sync';
export * from './channel/reconcile';
export * from './subscription/reconcile';
export * from './observation/observation';
export * from './sources/index';
export * from './eventtype/eventtype';
export {
  Provisioning,
  finalizerOf,
  storeRefOf,
  type StoreProvisioner,
  type ProvisionerLookup,
  type StoreRef,
} from './controller/provisioning';
export * from './eventtype/registrar-handler';
