import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      http: { port: 8000, host: '0.0.0.0' },
      dataDir: './data',
      mqtt: { url: undefined, embedded: { port: 1883, wsPort: 9001 } },
      simulator: { robots: 0, rateHz: 1 },
      robots: { allowAnonymous: true, autoRegister: true, listMaxAgeMs: 1000 },
      logLevel: 'info',
    });
    expect(c.retention.raw_ms).toBe(7 * 24 * 3600_000);
    expect(Object.isFrozen(c.mqtt)).toBe(true);
  });

  it('lists every problem at once, naming each variable', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        MQTT_URL: 'http://broker',
        ADMIN_PASSWORD: 'short',
        LOG_LEVEL: 'loud',
        SIMULATED_ROBOTS: '-1',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.split(':')[0]);
    expect(problems.sort()).toEqual(['ADMIN_PASSWORD', 'LOG_LEVEL', 'MQTT_URL', 'PORT', 'SIMULATED_ROBOTS']);
    expect((error as Error).message).toMatch(/^Invalid environment:\n {2}- /);
  });

  it('gives the documented defaults of the broker and registration limits', () => {
    const c = loadConfig({});
    expect(c.mqtt.embedded).toMatchObject({
      maxConnectionsPerAddress: 256,
      retained: { maxBytes: 8192, perRobot: 16, total: 10_000 },
    });
    expect(c.robots).toMatchObject({ autoRegisterPerMin: 120, pendingMax: 1000, confirmAfterMs: 60_000 });
  });

  it('refuses a simulated fleet larger than the connections one address may hold, naming both variables', () => {
    expect(() => loadConfig({ SIMULATED_ROBOTS: '300' })).toThrow(
      /SIMULATED_ROBOTS: 300 robots .* MQTT_MAX_CONNECTIONS_PER_ADDRESS \(256\)/,
    );
    expect(
      loadConfig({ SIMULATED_ROBOTS: '300', MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0' }).simulator.robots,
    ).toBe(300);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', MQTT_URL: '' }).http.port).toBe(8000);
  });

  it('accepts an external broker and PostgreSQL', () => {
    const c = loadConfig({
      MQTT_URL: 'mqtt://user:pw@broker:1883',
      DATABASE_URL: 'postgres://u:p@db/tonypi',
    });
    expect(c.mqtt.url).toBe('mqtt://user:pw@broker:1883');
    expect(c.databaseUrl).toBe('postgres://u:p@db/tonypi');
  });

  describe('MQTT_DYNSEC, MQTT_CLIENT_ID, MQTT_SESSION_EXPIRY_S', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as ConfigError).problems;
      }
      throw new Error('expected a ConfigError');
    };

    it('manages no broker accounts and keeps a one-hour persistent session by default', () => {
      const c = loadConfig({ MQTT_URL: 'mqtt://broker:1883' });
      expect(c.mqtt.dynsec).toBeUndefined();
      expect(c.mqtt.clientId).toBeUndefined();
      expect(c.mqtt.sessionExpiryS).toBe(3600);
    });

    it("uses the server's own login as the dynamic-security admin unless one is given", () => {
      const base = {
        MQTT_URL: 'mqtt://broker',
        MQTT_USERNAME: 'fleet',
        MQTT_PASSWORD: 'pw',
        MQTT_DYNSEC: 'true',
      };
      expect(loadConfig(base).mqtt.dynsec).toEqual({ username: 'fleet', password: 'pw' });
      expect(
        loadConfig({ ...base, MQTT_DYNSEC_ADMIN_USERNAME: 'admin', MQTT_DYNSEC_ADMIN_PASSWORD: 'apw' }).mqtt
          .dynsec,
      ).toEqual({ username: 'admin', password: 'apw' });
    });

    it('lists what dynamic security lacks: a broker, a login, the admin password', () => {
      expect(problems({ MQTT_DYNSEC: 'true', MQTT_DYNSEC_ADMIN_USERNAME: 'admin' })).toEqual([
        expect.stringMatching(/^MQTT_DYNSEC: needs MQTT_URL/),
        expect.stringMatching(/^MQTT_DYNSEC: needs MQTT_USERNAME/),
        expect.stringMatching(/^MQTT_DYNSEC_ADMIN_PASSWORD: /),
      ]);
      expect(problems({ MQTT_CLIENT_ID: 'has/slash' })[0]).toMatch(/^MQTT_CLIENT_ID: /);
    });
  });

  describe('web: CORS_ORIGINS, TRUST_PROXY, LOG_FORMAT', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as ConfigError).problems;
      }
      throw new Error('expected a ConfigError');
    };

    it('closes CORS, trusts no proxy and picks the log format by the terminal, by default', () => {
      const c = loadConfig({});
      expect(c.web).toEqual({ corsOrigins: [], trustProxy: false, frameOrigins: [] });
      expect(c.logFormat).toBe('auto');
    });

    it('leaves Grafana out without GRAFANA_URL: no settings, no framed origin', () => {
      const c = loadConfig({});
      expect(c.grafana).toBeUndefined();
      expect(c.web.frameOrigins).toEqual([]);
    });

    it.each([
      ['http://localhost:3000', 'http://localhost:3000', 'http://localhost:3000'],
      ['https://Grafana.Example.com:443/', 'https://grafana.example.com', 'https://grafana.example.com'],
      [
        'https://monitor.example.com/grafana/',
        'https://monitor.example.com/grafana',
        'https://monitor.example.com',
      ],
    ])('reads GRAFANA_URL %s as the URL %s, framed from %s', (value, url, origin) => {
      const c = loadConfig({ GRAFANA_URL: value });
      expect(c.grafana).toEqual({ url });
      expect(c.web.frameOrigins).toEqual([origin]);
    });

    it.each([
      ['a bare host name', 'grafana.example.com'],
      ['another scheme', 'ftp://grafana.example.com'],
      ['a query', 'https://grafana.example.com/?orgId=1'],
      ['credentials', 'https://admin:secret@grafana.example.com'],
    ])('refuses %s in GRAFANA_URL, naming it', (_what, value) => {
      const [problem] = problems({ GRAFANA_URL: value });
      expect(problem).toMatch(/^GRAFANA_URL: .*not a Grafana URL/);
      expect(problem).not.toContain('secret');
    });

    it('reads CORS_ORIGINS as origins the way a browser writes them', () => {
      const c = loadConfig({
        CORS_ORIGINS: 'https://App.Example.com/, http://localhost:5173 ,https://x.io:443',
      });
      expect(c.web.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173', 'https://x.io']);
    });

    it.each([
      ['a wildcard', '*', /wildcard cannot carry credentials/],
      ['a path', 'https://app.example.com/dashboard', /not an origin/],
      ['a bare host name', 'app.example.com', /not an origin/],
      ['another scheme', 'ftp://files.example.com', /not an origin/],
      ['a query', 'https://app.example.com/?x=1', /not an origin/],
    ])('refuses %s in CORS_ORIGINS, naming it', (_what, value, message) => {
      const [problem] = problems({ CORS_ORIGINS: `https://ok.example.com,${value}` });
      expect(problem).toMatch(/^CORS_ORIGINS: /);
      expect(problem).toContain(`"${value}"`);
      expect(problem).toMatch(message);
    });

    it.each([
      ['true', true],
      ['false', false],
      ['127.0.0.1', ['127.0.0.1']],
      ['10.0.0.0/8, ::1, loopback', ['10.0.0.0/8', '::1', 'loopback']],
    ])('reads TRUST_PROXY=%s', (value, expected) => {
      expect(loadConfig({ TRUST_PROXY: value }).web.trustProxy).toEqual(expected);
    });

    it('refuses a hop count for TRUST_PROXY (Fastify would ignore it) and says what to write instead', () => {
      const [problem] = problems({ TRUST_PROXY: '1' });
      expect(problem).toMatch(/^TRUST_PROXY: a hop count/);
      expect(problem).toMatch(/list the proxies' addresses/);
    });

    it.each(['proxy.local', '10.0.0.0/33', '300.1.1.1'])('refuses TRUST_PROXY=%s, naming it', (value) => {
      const [problem] = problems({ TRUST_PROXY: value });
      expect(problem).toContain(`"${value}" is not an address`);
    });

    it('refuses an unknown LOG_FORMAT', () => {
      expect(problems({ LOG_FORMAT: 'xml' })[0]).toMatch(/^LOG_FORMAT: /);
      expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    });
  });
});
