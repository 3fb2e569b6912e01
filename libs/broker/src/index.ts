export * from './ingress/path';
export * from './ingress/body';
export * from './ingress/ttl';
export * from './ingress/respond';
export * from './ingress/handler';
export * from './egress/trigger-router';
export * from './data-plane';
