export * from './contract';
export * from './io';
export * from './follower';
export * from './roles';
export * from './schedules';
