import { openTestPGlite } from '../db/test-databases';
import { describeAlertsRepositoryContract } from './alerts.repository.contract';

describeAlertsRepositoryContract(openTestPGlite);
