/** The host a listener's URL names: a wildcard bind address becomes `localhost`, which a client can reach. */
export function publicHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host;
}
