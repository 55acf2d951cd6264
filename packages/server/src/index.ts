export { startServer, type RunningServer, VERSION } from './app';
export { loadConfig, ConfigError, type Config } from './config';
