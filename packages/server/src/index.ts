export { type RunningServer, startServer, VERSION } from './app';
export { type Config, ConfigError, loadConfig } from './config';
