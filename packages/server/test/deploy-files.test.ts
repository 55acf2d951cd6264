import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY_DIR, readYaml } from './helpers/grafana';

/**
 * deploy/ checked without a Docker engine (there is none here): the compose file parses and pins every
 * image, secrets have no defaults, every variable is documented in README.md and deploy/example.env, the
 * Dockerfile runs the commands CI runs, and the Mosquitto config and systemd unit say what they must.
 */
const ROOT = new URL('../../../', import.meta.url);
const read = (path: string, base = DEPLOY_DIR) => readFileSync(new URL(path, base), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  restart?: string;
}
const composeText = read('docker-compose.yml');
const compose = readYaml(new URL('docker-compose.yml', DEPLOY_DIR)) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

/**
 * The server's variables: the keys of config.ts's environment schema, the one place that reads them, and
 * the process's own that the README documents (`TZ`: Node's time zone, which report schedules run in).
 */
const PROCESS_VARS = ['TZ'];
const configVars = [
  ...[...read('packages/server/src/config.ts', ROOT).matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!),
  ...PROCESS_VARS,
];

/** `${VAR}`, `${VAR:-default}`, `${VAR:?message}` (not `$${…}`, compose's escape for a literal `$`). */
function composeVariables(text: string): { name: string; op?: string; rest?: string }[] {
  return [...text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g)].map((m) => ({
    name: m[1]!,
    op: m[2],
    rest: m[3],
  }));
}

/** example.env's variables (`VAR=` or `# VAR=`), by section. */
function exampleEnv(): { compose: string[]; server: string[] } {
  const text = read('example.env');
  const split = text.indexOf('# ==== the server');
  expect(split).toBeGreaterThan(0);
  const names = (part: string) => [...part.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
  return { compose: names(text.slice(0, split)), server: names(text.slice(split)) };
}

describe('deploy/docker-compose.yml', () => {
  it('parses, and runs the server with Mosquitto 2.0, PostgreSQL 15, InfluxDB 2.7 and Grafana 10', () => {
    const images = Object.fromEntries(Object.entries(compose.services).map(([name, s]) => [name, s.image]));
    expect(images.server).toMatch(/^tonypi-fleet-monitor:\d+\.\d+\.\d+$/);
    expect(images.mosquitto).toMatch(/^eclipse-mosquitto:2\.0\.\d+$/);
    expect(images.postgres).toMatch(/^postgres:15\.\d+(-[a-z]+)?$/);
    expect(images.influxdb).toMatch(/^influxdb:2\.7\.\d+$/);
    expect(images.grafana).toMatch(/^grafana\/grafana:10\.\d+\.\d+$/);
    expect(compose.services.server!.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
  });

  it('pins every image to a version tag (never latest, never untagged)', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.image, name).toBeDefined();
      const tag = s.image!.split(':')[1];
      expect(tag, `${name}: ${s.image}`).toMatch(/^\d+(\.\d+)+(-[a-z0-9.]+)?$/);
    }
    expect(composeText).not.toMatch(/:latest\b/);
  });

  it('health-checks every long-running service and starts each after what it needs is healthy', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.restart === 'no') continue; // one-shot jobs
      // The server's health check is the image's HEALTHCHECK (deploy/Dockerfile).
      if (name !== 'server') expect(s.healthcheck?.test.length, name).toBeGreaterThan(0);
      expect(s.restart, name).toBe('unless-stopped');
    }
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services[dep], `${name} → ${dep}`).toBeDefined();
        const expected =
          compose.services[dep]!.restart === 'no' ? 'service_completed_successfully' : 'service_healthy';
        expect(condition, `${name} → ${dep}`).toBe(expected);
      }
    }
    expect(Object.keys(compose.services.server!.depends_on!).sort()).toEqual([
      'influxdb',
      'mosquitto',
      'postgres',
    ]);
  });

  it('keeps every store on a named volume', () => {
    const named = (s: string) => s.split(':')[0]!;
    for (const service of ['server', 'mosquitto', 'postgres', 'influxdb', 'grafana']) {
      const volumes = compose.services[service]!.volumes!.map(named).filter((v) => !v.startsWith('.'));
      expect(volumes.length, service).toBeGreaterThan(0);
      for (const v of volumes) expect(Object.keys(compose.volumes)).toContain(v);
    }
  });

  it('has no default password: every secret is required (VAR:?message) or, for optional keys, empty', () => {
    const secret = /PASSWORD|TOKEN|SECRET|_KEY$/;
    const uses = composeVariables(composeText).filter((v) => secret.test(v.name));
    expect(uses.length).toBeGreaterThan(10);
    for (const v of uses) {
      const ok = v.op === ':?' || (v.op === ':-' && v.rest === '');
      expect(ok, `\${${v.name}${v.op ?? ''}${v.rest ?? ''}}`).toBe(true);
    }
    // No literal secret values either: anything named like a secret comes from a variable.
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (secret.test(key) && !/PUBLISH$/.test(key))
          expect(String(value), `${name}.${key}`).toMatch(/\$\{/);
      }
    }
    const required = new Set(
      composeVariables(composeText)
        .filter((v) => v.op === ':?')
        .map((v) => v.name),
    );
    for (const v of [
      'POSTGRES_PASSWORD',
      'MQTT_SERVER_PASSWORD',
      'INFLUX_ADMIN_TOKEN',
      'GRAFANA_ADMIN_PASSWORD',
      'JWT_SECRET',
    ])
      expect(required).toContain(v);
  });

  it('documents every variable it reads in deploy/example.env, and example.env lists none it does not use', () => {
    const env = exampleEnv();
    const used = new Set(composeVariables(composeText).map((v) => v.name));
    for (const name of used) expect([...env.compose, ...env.server], name).toContain(name);
    for (const name of env.compose)
      expect(used.has(name), `${name} is in example.env but not used`).toBe(true);
  });

  it("passes every server setting through to the server's container (except the embedded broker's)", () => {
    const environment = compose.services.server!.environment!;
    const notPassed = ['MQTT_HOST', 'MQTT_PORT', 'MQTT_WS_PORT', 'WEB_APP_DIR'];
    for (const name of configVars) {
      if (notPassed.includes(name)) expect(environment, name).not.toHaveProperty(name);
      else
        expect(
          environment,
          `add "${name}: \${${name}:-}" to the server's environment in deploy/docker-compose.yml`,
        ).toHaveProperty(name);
    }
    for (const name of Object.keys(environment)) expect(configVars, name).toContain(name);
    expect(environment.TELEMETRY_URL).toMatch(
      /^influx:\/\/fleet-server:\$\{INFLUX_SERVER_PASSWORD:\?[^}]*\}@influxdb:8086\/\?db=fleet$/,
    );
  });
});

describe('the configuration is documented everywhere', () => {
  const readme = read('README.md', ROOT);
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## The robot protocol'));
  const readmeVars = new Set(
    table
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .flatMap((l) => [...l.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!)),
  );

  it('lists every variable of config.ts (and TZ) in README.md and no other', () => {
    expect(configVars.length).toBeGreaterThan(50);
    for (const name of configVars)
      expect(readmeVars.has(name), `${name} is not in README.md's configuration table`).toBe(true);
    for (const name of readmeVars)
      expect(configVars, `${name} in README.md is no setting of config.ts`).toContain(name);
  });

  it("lists every variable of config.ts in deploy/example.env's server section and no other", () => {
    const listed = exampleEnv().server;
    for (const name of configVars)
      expect(
        listed,
        `add "# ${name}=<default>" with a comment to deploy/example.env's server section`,
      ).toContain(name);
    for (const name of listed)
      expect(configVars, `${name} in deploy/example.env is no setting of config.ts`).toContain(name);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('comments every variable of example.env', () => {
    const lines = read('example.env').split('\n');
    lines.forEach((line, i) => {
      if (!/^(# )?[A-Z][A-Z0-9_]*=/.test(line)) return;
      // The variable, or the group of variables it belongs to, follows a line of explanation.
      let j = i - 1;
      while (j >= 0 && /^(# )?[A-Z][A-Z0-9_]*=/.test(lines[j]!)) j--;
      expect(lines[j]!.startsWith('# ') && lines[j]!.length > 10, line).toBe(true);
    });
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const ci = read('.ci/run', ROOT);
  const pkg = JSON.parse(read('package.json', ROOT)) as {
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };

  it('builds from a pinned node:20 image, in stages, and runs as an unprivileged user', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim$/m);
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    const stages: string[] = [];
    for (const [, image, stage] of dockerfile.matchAll(/^FROM (\S+) AS (\S+)/gm)) {
      // The pinned ARG, or a stage built before.
      expect(image === '$' + '{NODE_IMAGE}' || stages.includes(image!), image).toBe(true);
      stages.push(stage!);
    }
    expect(stages).toEqual(['build', 'check', 'prod-deps', 'runtime']);
    const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBe('node');
  });

  it("runs only the install, check and build commands CI runs (.ci/run, the web app's build by npm install)", () => {
    const ciCommands = new Set(
      [...ci.matchAll(/^\s*(npm (?:install|ci|run \S+|test)(?: --[a-z-]+)*)/gm)].map((m) => m[1]!),
    );
    const runs = [...dockerfile.matchAll(/^RUN ((?:.*\\\n)*.*)$/gm)].map((m) =>
      m[1]!.replace(/\\\n\s*/g, ' '),
    );
    const npm = runs.flatMap((r) => r.split('&&').map((c) => c.trim())).filter((c) => c.startsWith('npm '));
    expect(npm).toEqual([
      'npm install --no-audit --no-fund',
      'npm run check',
      'npm prune --omit=dev --no-audit --no-fund',
    ]);
    // Install and check are CI's; the prune only drops devDependencies from what CI installed, keeping the
    // service command's loader (tsx), which is therefore a dependency.
    for (const command of npm.slice(0, 2)) expect(ciCommands, command).toContain(command);
    expect(pkg.dependencies).toHaveProperty('tsx');
    expect(pkg.devDependencies).not.toHaveProperty('tsx');
    expect(dockerfile).toMatch(/^FROM build AS prod-deps\nRUN npm prune --omit=dev/m);
    expect(dockerfile).toContain('COPY --from=prod-deps /app /app');
    // npm install's postinstall is what builds the web app, in CI and here.
    expect(pkg.scripts.postinstall).toContain('ensure-built');
  });

  it("checks the server's health endpoint and starts it like the README's service command", () => {
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/api\/v1\/health/m);
    expect(read('packages/server/src/system/health.routes.ts', ROOT)).toContain("'/health'");
    expect(pkg.scripts.start).toBe('exec node --import tsx packages/server/src/main.ts');
    expect(dockerfile).toContain('CMD ["node", "--import", "tsx", "packages/server/src/main.ts"]');
  });

  it('leaves local builds, data, dependencies and the screenshots out of the build context, and no other tracked file', () => {
    const ignore = read('Dockerfile.dockerignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['**/node_modules', '**/dist', '**/data', '.git', 'deploy/.env'])
      expect(ignore).toContain(entry);
    // Each pattern as Docker matches it (from the context's root; `**/` any depth, `*` within a name).
    const patterns = ignore.map((p) => {
      const body = p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '\0')
        .replace(/\*/g, '[^/]*')
        .replaceAll('\0', '(?:.*/)?');
      return new RegExp(`^${body}(?:/|$)`);
    });
    const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT }).toString().split('\n').filter(Boolean);
    expect(tracked.length).toBeGreaterThan(100);
    // The screenshots are the README's (docs), never the server's: the image does without them.
    const shots = tracked.filter((f) => f.startsWith('docs/screenshots/'));
    expect(shots.every((f) => patterns.some((re) => re.test(f)))).toBe(true);
    expect(tracked.filter((f) => !shots.includes(f) && patterns.some((re) => re.test(f)))).toEqual([]);
    expect(patterns.some((re) => re.test('packages/web/dist/index.html'))).toBe(true);
    expect(patterns.some((re) => re.test('node_modules/yaml/package.json'))).toBe(true);
  });
});

describe('the deploy scripts', () => {
  it('parse as the shells that run them (the images: sh for Mosquitto, bash for InfluxDB)', () => {
    execFileSync('sh', ['-n', new URL('mosquitto/start.sh', DEPLOY_DIR).pathname]);
    execFileSync('bash', ['-n', new URL('influxdb/init-fleet.sh', DEPLOY_DIR).pathname]);
  });

  it('make on InfluxDB 2.x every database the server and Grafana use, with a DBRP mapping each', () => {
    const init = read('influxdb/init-fleet.sh');
    const raw = compose.services.influxdb!.environment!.DOCKER_INFLUXDB_INIT_BUCKET;
    expect(raw).toBe('fleet_raw');
    for (const db of ['fleet_raw', 'fleet_1m', 'fleet_1h'])
      expect(init).toMatch(new RegExp(`^ensure_bucket ${db} `, 'm'));
    expect(init).toMatch(/for db in fleet_raw fleet_1m fleet_1h; do/);
    expect(init).toContain('influx v1 dbrp create');
    // The v1 users the server (TELEMETRY_URL) and Grafana (FLEET_INFLUX_READ_USER) sign in as.
    expect(init).toMatch(/^ensure_v1_user fleet-server /m);
    expect(init).toMatch(
      new RegExp(`^ensure_v1_user ${compose.services.grafana!.environment!.FLEET_INFLUX_READ_USER} `, 'm'),
    );
  });
  it('init-fleet.sh makes what is missing and only that, so a second run changes nothing but passwords', () => {
    // A stand-in `influx` CLI (no InfluxDB 2.x here): it keeps buckets, mappings and users as files and
    // logs each call, answering the list commands the way the CLI does (one row per match, no header).
    const dir = mkdtempSync(join(tmpdir(), 'tonypi-init-fleet-'));
    try {
      const stub = join(dir, 'influx');
      writeFileSync(
        stub,
        `#!/bin/bash
state="${dir}/state"; mkdir -p "$state"; echo "$*" >> "${dir}/calls"
arg() { local want="$1"; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
case "$1 $2" in
  "bucket list") [ -f "$state/bucket_$(arg --name "$@")" ] && printf 'id-%s\\t%s\\t8d\\n' "$(arg --name "$@")" "$(arg --name "$@")" ;;
  "bucket create") touch "$state/bucket_$(arg --name "$@")" ;;
  "v1 dbrp") case "$3" in list) [ -f "$state/dbrp_$(arg --db "$@")" ] && echo "m $(arg --db "$@")" ;; create) touch "$state/dbrp_$(arg --db "$@")" ;; esac ;;
  "v1 auth") case "$3" in list) [ -f "$state/auth_$(arg --username "$@")" ] && echo "a $(arg --username "$@")" ;; create) touch "$state/auth_$(arg --username "$@")" ;; esac ;;
esac
exit 0
`,
      );
      chmodSync(stub, 0o755);
      mkdirSync(join(dir, 'state'));
      writeFileSync(join(dir, 'state', 'bucket_fleet_raw'), ''); // made by the image's setup mode
      const run = () =>
        execFileSync('bash', [new URL('influxdb/init-fleet.sh', DEPLOY_DIR).pathname], {
          env: {
            PATH: `${dir}:${process.env.PATH}`,
            DOCKER_INFLUXDB_INIT_ORG: 'tonypi',
            INFLUX_SERVER_PASSWORD: 'server-pw',
            INFLUX_GRAFANA_PASSWORD: 'grafana-pw',
          },
        });
      run();
      const first = readFileSync(join(dir, 'calls'), 'utf8').split('\n');
      const writes = (calls: string[]) => calls.filter((c) => / create | set-password /.test(` ${c} `));
      expect(writes(first)).toEqual([
        'bucket create --org tonypi --name fleet_1m --retention 91d',
        'bucket create --org tonypi --name fleet_1h --retention 731d',
        'v1 dbrp create --org tonypi --db fleet_raw --rp autogen --bucket-id id-fleet_raw --default',
        'v1 dbrp create --org tonypi --db fleet_1m --rp autogen --bucket-id id-fleet_1m --default',
        'v1 dbrp create --org tonypi --db fleet_1h --rp autogen --bucket-id id-fleet_1h --default',
        'v1 auth create --org tonypi --username fleet-server --password server-pw --read-bucket id-fleet_raw --write-bucket id-fleet_raw --read-bucket id-fleet_1m --write-bucket id-fleet_1m --read-bucket id-fleet_1h --write-bucket id-fleet_1h',
        'v1 auth create --org tonypi --username grafana --password grafana-pw --read-bucket id-fleet_raw --read-bucket id-fleet_1m --read-bucket id-fleet_1h',
      ]);
      run();
      const second = readFileSync(join(dir, 'calls'), 'utf8')
        .split('\n')
        .slice(first.length - 1);
      expect(writes(second)).toEqual([
        'v1 auth set-password --org tonypi --username fleet-server --password server-pw',
        'v1 auth set-password --org tonypi --username grafana --password grafana-pw',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/mosquitto/mosquitto.conf', () => {
  const conf = read('mosquitto/mosquitto.conf');
  const settings = conf
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.trim());

  it('listens for MQTT and MQTT over WebSocket, with no anonymous access, persistence and TCP_NODELAY', () => {
    expect(settings).toEqual(
      expect.arrayContaining([
        'listener 1883',
        'protocol mqtt',
        'listener 9001',
        'protocol websockets',
        'allow_anonymous false',
        'persistence true',
        'set_tcp_nodelay true',
      ]),
    );
    expect(settings).not.toContain('allow_anonymous true');
  });

  it("keeps every account in the dynamic-security plugin (the image's path; Debian's in a comment)", () => {
    expect(settings).toContain('plugin /usr/lib/mosquitto_dynamic_security.so');
    expect(settings).toContain('plugin_opt_config_file /mosquitto/data/dynamic-security.json');
    expect(conf).toContain('/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so');
    // The password file is the no-plugin alternative, off.
    expect(conf).toMatch(/^#password_file \S+$/m);
    expect(settings.some((l) => l.startsWith('password_file') || l.startsWith('acl_file'))).toBe(false);
    // The server manages the plugin's accounts through its admin, the one start.sh makes.
    const server = compose.services.server!.environment!;
    expect(server.MQTT_DYNSEC).toMatch(/^\$\{MQTT_DYNSEC:-true\}$/);
    expect(server.MQTT_DYNSEC_ADMIN_USERNAME).toBe('dynsec-admin');
    expect(read('mosquitto/start.sh')).toContain(
      'mosquitto_ctrl dynsec init "$dynsec" dynsec-admin "$MQTT_DYNSEC_ADMIN_PASSWORD"',
    );
  });

  it('matches the ports docker-compose publishes', () => {
    const ports = compose.services.mosquitto!.ports!;
    expect(ports.map((p) => p.split(':').at(-1))).toEqual(['1883', '9001']);
  });
});

describe('deploy/systemd/tonypi-fleet-monitor.service', () => {
  const unit = read('systemd/tonypi-fleet-monitor.service');
  const value = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

  it('runs the server as an unprivileged user with its environment file, restarting on failure', () => {
    expect(value('User')[0]).toMatch(/^(?!root$)\w+/);
    expect(value('EnvironmentFile')).toEqual(['/etc/tonypi-fleet-monitor/env']);
    expect(value('Restart')).toEqual(['on-failure']);
    expect(value('ExecStart')).toEqual(['/usr/bin/node --import tsx packages/server/src/main.ts']);
  });

  it('is hardened, and may write only DATA_DIR', () => {
    expect(value('NoNewPrivileges')).toEqual(['true']);
    expect(value('ProtectSystem')).toEqual(['strict']);
    const dataDir = value('Environment')
      .find((e) => e.startsWith('DATA_DIR='))!
      .slice('DATA_DIR='.length);
    expect(value('ReadWritePaths')).toEqual([dataDir]);
    expect(value('CapabilityBoundingSet')).toEqual(['']);
  });

  it.runIf(existsSync('/usr/bin/systemd-analyze'))('passes systemd-analyze verify', () => {
    execFileSync(
      '/usr/bin/systemd-analyze',
      ['verify', new URL('systemd/tonypi-fleet-monitor.service', DEPLOY_DIR).pathname],
      {
        stdio: 'pipe',
      },
    );
  });
});
