import { openTestPGlite } from '../db/test-databases';
import { describeAuditLogContract } from './audit-log.contract';

describeAuditLogContract(openTestPGlite);
