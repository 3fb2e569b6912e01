export * from './client/kube-client';
export * from './client/kinds';
export * from './list-watch/list-watch';
export * from './store/kubernetes-store';
export * from './leader/leader-elector';
export * from './configmaps/split';
export * from './configmaps/configmap-writer';
