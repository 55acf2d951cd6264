import { describeAlertThresholdsRepositoryContract } from './alert-thresholds.repository.contract';
import { openTestPGlite } from './test-databases';

describeAlertThresholdsRepositoryContract(openTestPGlite);
