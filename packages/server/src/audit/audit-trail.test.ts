import { openTestPGlite } from '../db/test-databases';
import { describeAuditTrailContract } from './audit-trail.contract';

describeAuditTrailContract(openTestPGlite);
