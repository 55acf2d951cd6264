import { type ItemView, type ScanAnswer, topics } from '@tonypi/contracts';
import type { MessageBus } from '../broker/message-bus';
import type { ScanOp, ScanResolver } from '../jobs/job-recorder';
import type { Logger } from '../logger';
import { ReasonLog } from '../reason-log';

/** What a robot is told for a code the catalogue does not know. */
export const NOT_FOUND_MESSAGE = 'Item not found in the catalogue';

/**
 * Answers a robot's scan from the catalogue on its items topic (`tonypi/items/{robot_id}`, QoS 1), in the
 * shape the original client reads: `{robot_id, qr, found, item | message, timestamp}`. Both protocols get
 * the same answer there. A failed lookup or publish is logged (bounded) and the scan recorded as not found.
 */
export class ScanAnswerer implements ScanResolver {
  private readonly failures: ReasonLog<'lookup_failed' | 'publish_failed'>;
  readonly counters = { answered: 0, found: 0 };

  constructor(
    private readonly lookup: (code: string) => Promise<ItemView | undefined>,
    private readonly bus: Pick<MessageBus, 'publish'>,
    logger: Logger,
  ) {
    this.failures = new ReasonLog(logger, 10_000);
  }

  async resolve(scan: ScanOp): Promise<{ found: boolean; item_id: number | null; item_name: string | null }> {
    let item: ItemView | undefined;
    let lookupFailed = false;
    try {
      item = await this.lookup(scan.code);
    } catch (err) {
      lookupFailed = true;
      this.failures.note('lookup_failed', { robot_id: scan.robot_id, err }, 'items: scan lookup failed');
    }
    const answer: ScanAnswer = {
      robot_id: scan.robot_id,
      qr: scan.code,
      found: item !== undefined,
      timestamp: new Date().toISOString(),
    };
    if (item) {
      const { created_at: _c, updated_at: _u, ...fields } = item;
      answer.item = fields;
    } else {
      answer.message = lookupFailed ? 'The catalogue could not be read; try again' : NOT_FOUND_MESSAGE;
    }
    try {
      await this.bus.publish(topics.legacy.items(scan.robot_id), JSON.stringify(answer), { qos: 1 });
      this.counters.answered++;
      if (item) this.counters.found++;
    } catch (err) {
      this.failures.note(
        'publish_failed',
        { robot_id: scan.robot_id, err },
        'items: scan answer not published',
      );
    }
    return { found: item !== undefined, item_id: item?.id ?? null, item_name: item?.name ?? null };
  }
}
