export * from './measurements';
