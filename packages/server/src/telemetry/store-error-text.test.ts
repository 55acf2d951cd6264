import { describe, expect, it } from 'vitest';
import { storeErrorText } from './telemetry-store';

describe('storeErrorText: a store error as health shows it', () => {
  it("shortens DuckDB's invalidated-database sentence so the cause fits", () => {
    const err = new Error(
      'FATAL Error: Failed: database has been invalidated because of a previous fatal error. The database must be ' +
        'restarted prior to being used again.\nOriginal error: "Failed to create checkpoint because of error: Could ' +
        'not write file "/tmp/tonypi-diskfull-WYP04N/disk/telemetry.duckdb": No space left on device"',
    );
    expect(storeErrorText(err)).toBe(
      'FATAL Error: Failed: database invalidated by "Failed to create checkpoint because of error: Could not ' +
        'write file "/tmp/tonypi-diskfull-WYP04N/disk/telemetry.duckdb": No space left on device"',
    );
  });

  it('keeps any other message as it is, at most 300 characters', () => {
    expect(storeErrorText(new Error('IO Error: disk I/O error'))).toBe('IO Error: disk I/O error');
    expect(storeErrorText(new Error('x'.repeat(1000)))).toHaveLength(300);
    expect(storeErrorText('not an Error')).toBe('not an Error');
  });
});
