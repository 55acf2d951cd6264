import { RobotConfigPayload } from '@tonypi/contracts';

/** What the simulated robot applies of its configuration (`tonypi/{id}/config`, retained). */
export interface AppliedConfig {
  version: number;
  /** Telemetry is published at most this often (ms between samples); null = at the fleet's rate. */
  telemetryIntervalMs: number | null;
}

/**
 * Reads a configuration payload: the applied part, or why it was not applied (the robot keeps its previous
 * settings and says so in its log). A rate above the fleet's tick rate cannot be met: the robot then
 * publishes at every tick.
 */
export function readConfig(
  payload: Buffer,
): { ok: true; config: AppliedConfig } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, message: 'config is not JSON' };
  }
  const parsed = RobotConfigPayload.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `config refused: ${issue?.path.join('.') || '(root)'}: ${issue?.message}` };
  }
  const rate = parsed.data.publish_rates_hz?.telemetry;
  return {
    ok: true,
    config: { version: parsed.data.version, telemetryIntervalMs: rate === undefined ? null : 1000 / rate },
  };
}
