import { openTestPGlite } from '../db/test-databases';
import { describeJobLeasesContract } from './job-leases.contract';

describeJobLeasesContract(openTestPGlite);
