import { openTestPGlite } from '../db/test-databases';
import { describeRobotsRepositoryContract } from './robots.repository.contract';

describeRobotsRepositoryContract(openTestPGlite);
