export * from './api';
export * from './errors';
export * from './fields';
export * from './live';
export * from './measurements';
export * from './payloads';
export * from './roles';
export * from './topics';
